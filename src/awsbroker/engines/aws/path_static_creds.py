"""`static-creds/:name`: the current key of a static role (GET only, no lease); the record is
in `records/static_creds.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.engines.aws.path_roles import ROLE_NAME
from awsbroker.engines.aws.records.static_creds import load
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            "static-creds/" + ROLE_NAME,
            {Operation.READ: read_static_creds},
            {"name": Field(T.STRING, "Name of the static role")},
            summary="Read the current access key of a static role",
        )
    ]


def read_static_creds(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    creds = load(b, fd.get_str("name"))
    return None if creds is None else Response(data=creds.to_response())
