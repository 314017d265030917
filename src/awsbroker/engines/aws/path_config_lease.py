"""`config/lease`: the lease TTL and max TTL of `iam_user` credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws.records.lease_config import STORAGE_KEY, LeaseConfig, load
from awsbroker.sdk.duration import format_duration, parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend


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
