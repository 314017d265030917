"""The `static-roles/<name>` record: an existing IAM user whose key is rotated on a schedule,
as Vault stores it (plus `grace_period`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from awsbroker.sdk.logical import JSONObject, JSONValue

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

PREFIX = "static-roles/"
_NS = 1_000_000_000


@dataclass
class StaticRole:
    name: str
    id: str = ""
    username: str = ""
    rotation_period: int = 0  # seconds
    assume_role_arn: str = ""
    assume_role_session_name: str = ""
    external_id: str = ""
    grace_period: int = 0  # seconds

    def to_response(self) -> JSONObject:
        return dict(asdict(self))

    def to_record(self) -> bytes:
        record: dict[str, JSONValue] = dict(asdict(self))
        record["rotation_period"] = self.rotation_period * _NS
        record["grace_period"] = self.grace_period * _NS
        return json.dumps(record).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> StaticRole:
        raw = json.loads(blob)
        return cls(
            name=str(raw.get("name") or ""),
            id=str(raw.get("id") or ""),
            username=str(raw.get("username") or ""),
            rotation_period=int(raw.get("rotation_period") or 0) // _NS,
            assume_role_arn=str(raw.get("assume_role_arn") or ""),
            assume_role_session_name=str(raw.get("assume_role_session_name") or ""),
            external_id=str(raw.get("external_id") or ""),
            grace_period=int(raw.get("grace_period") or 0) // _NS,
        )


def load(backend: AWSBackend, name: str) -> StaticRole | None:
    blob = backend.storage.get(PREFIX + name)
    return None if blob is None else StaticRole.from_record(blob)
