"""The `static-creds/<name>` record: the current key of a static role.

Stored at `static-creds/<name>` as Vault stores it (`access_key`, `secret_key`, `expiration`,
the time of the next rotation) plus, while a grace period runs, the previous key
(`previous_access_key`, `previous_secret_key`, `previous_expiration`: when it is deleted).
Every change of the record is a compare-and-set (`update`): the rotation job of one process
and a role write on another both change it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws.schedule import parse_rfc3339, rfc3339
from awsbroker.sdk import storage
from awsbroker.sdk.logical import JSONObject

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

PREFIX = "static-creds/"


@dataclass
class StaticCreds:
    access_key: str
    secret_key: str = field(repr=False)
    expiration: float = 0.0  # the next rotation; 0: unknown (a record without one)
    previous_access_key: str = ""
    previous_secret_key: str = field(default="", repr=False)
    previous_expiration: float = 0.0

    def next_event(self) -> float:
        """When the role's job must run: the next rotation, or the end of a grace period."""
        if self.previous_access_key:
            return min(self.expiration, self.previous_expiration)
        return self.expiration

    def drop_previous(self) -> None:
        self.previous_access_key = self.previous_secret_key = ""
        self.previous_expiration = 0.0

    def to_response(self) -> JSONObject:
        data: JSONObject = {
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "expiration": rfc3339(self.expiration) if self.expiration else None,
        }
        if self.previous_access_key:
            data["previous_access_key"] = self.previous_access_key
            data["previous_secret_key"] = self.previous_secret_key
            data["previous_expiration"] = rfc3339(self.previous_expiration)
        return data

    def to_record(self) -> bytes:
        return json.dumps(self.to_response()).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> StaticCreds:
        raw = json.loads(blob)
        expiration, previous = raw.get("expiration"), raw.get("previous_expiration")
        return cls(
            access_key=str(raw.get("access_key") or ""),
            secret_key=str(raw.get("secret_key") or ""),
            expiration=parse_rfc3339(expiration) if expiration else 0.0,
            previous_access_key=str(raw.get("previous_access_key") or ""),
            previous_secret_key=str(raw.get("previous_secret_key") or ""),
            previous_expiration=parse_rfc3339(previous) if previous else 0.0,
        )


def load(backend: AWSBackend, name: str) -> StaticCreds | None:
    return _parse(backend.storage.get(PREFIX + name))


def _parse(blob: bytes | None) -> StaticCreds | None:
    return None if blob is None else StaticCreds.from_record(blob)


def update(
    backend: AWSBackend, name: str, change: Callable[[StaticCreds | None], StaticCreds | None]
) -> StaticCreds | None:
    """Change the record as stored now (None: there is none, or delete it), without losing
    another process's write: `change` runs again on a newer record, so it may run more than
    once and must do nothing else. The record as it is after."""

    def apply(stored: bytes | None) -> bytes | None:
        new = change(_parse(stored))  # `change` may modify what it is given, so: a copy
        if new == _parse(stored):
            return stored  # unchanged: nothing to write
        return None if new is None else new.to_record()

    return _parse(storage.update(backend.storage, PREFIX + name, apply))


def delete(backend: AWSBackend, name: str) -> None:
    backend.storage.delete(PREFIX + name)
