"""`config/lease`: the lease TTL and max TTL of `iam_user` credentials."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from awsbroker.sdk.duration import format_duration, parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

STORAGE_KEY = "config/lease"
_NS = 1_000_000_000


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            "config/lease",
            {Operation.READ: read_lease, Operation.UPDATE: write_lease},
            {
                "lease": Field(T.STRING, "Default TTL of iam_user leases, e.g. '30m'"),
                "lease_max": Field(T.STRING, "Maximum TTL of iam_user leases, e.g. '12h'"),
            },
            summary="Configure the lease of iam_user credentials",
        )
    ]


@dataclass(frozen=True)
class LeaseConfig:
    lease: int
    lease_max: int

    def to_record(self) -> bytes:
        # Vault's layout: capitalised keys, nanoseconds.
        return json.dumps({"Lease": self.lease * _NS, "LeaseMax": self.lease_max * _NS}).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> LeaseConfig:
        raw = json.loads(blob)
        return cls(int(raw["Lease"]) // _NS, int(raw["LeaseMax"]) // _NS)


def load(backend: AWSBackend) -> LeaseConfig | None:
    blob = backend.storage.get(STORAGE_KEY)
    return None if blob is None else LeaseConfig.from_record(blob)


def read_lease(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    config = load(b)
    if config is None:
        return None
    return Response(
        data={
            "lease": format_duration(config.lease),
            "lease_max": format_duration(config.lease_max),
        }
    )


def _parse(fd: FieldData, name: str, label: str) -> int:
    text = fd.get_str(name)
    if not text:
        raise InvalidRequest(f"'{name}' is a required parameter")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid {label}: {exc}") from None


def write_lease(b: AWSBackend, req: Request, fd: FieldData) -> None:
    config = LeaseConfig(_parse(fd, "lease", "lease"), _parse(fd, "lease_max", "lease_max"))
    b.storage.put(STORAGE_KEY, config.to_record())
