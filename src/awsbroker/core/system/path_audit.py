"""`sys/audit`, `sys/audit/:path` and `sys/audit-hash/:path`: audit devices (all sudo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE


def paths() -> list[Path[SystemBackend]]:
    return [
        Path("audit/?", {R: list_audit}, summary="List the enabled audit devices"),
        Path(
            r"audit/(?P<path>.+)",
            {U: enable_audit, D: disable_audit},
            {
                "path": Field(T.STRING, "Where to enable the device"),
                "type": Field(T.STRING, "Device type: file or socket"),
                "description": Field(T.STRING, "Human-readable description"),
                "options": Field(
                    T.MAP,
                    "file: file_path (or path; stdout, discard), mode. socket: address, "
                    "socket_type, write_timeout. Both: format, hmac_accessor, log_raw, "
                    "elide_list_responses, prefix",
                ),
                "local": Field(T.BOOL, "Accepted for compatibility; devices are per server"),
            },
            summary="Enable or disable an audit device",
        ),
        Path(
            r"audit-hash/(?P<path>.+)",
            {U: audit_hash},
            {"path": Field(T.STRING), "input": Field(T.STRING, "The value to hash")},
            summary="The HMAC a device would write for a value",
        ),
    ]


def list_audit(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    data: JSONObject = {
        path: entry.info() for path, entry in sorted(b.core.audit.listing().items())
    }
    return Response(data=data, inject_top_level=True)


def enable_audit(b: SystemBackend, req: Request, fd: FieldData) -> None:
    device_type = fd.get_str("type")
    if not device_type:
        raise InvalidRequest('\'type\' is required, e.g. {"type": "file"}')
    b.core.enable_audit(
        fd.get_str("path"),
        device_type,
        fd.get_str("description"),
        fd.get_map("options"),
        fd.get_bool("local"),
    )


def disable_audit(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.disable_audit(fd.get_str("path"))


def audit_hash(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    value = fd.get_str("input")
    if not value:
        raise InvalidRequest('the "input" parameter is empty')
    return Response(
        data={"hash": b.core.audit.hash(fd.get_str("path"), value)}, inject_top_level=True
    )
