"""`sys/rotate` (OpenBao also `sys/rotate/keyring`, which `bao operator rotate` calls),
`sys/key-status`: the barrier's encryption key terms; and `sys/host-info`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.core.host_info import host_info
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend


def paths() -> list[Path[SystemBackend]]:
    return [
        Path("rotate", {Operation.UPDATE: rotate}, summary="Rotate the encryption key (sudo)"),
        Path(
            "rotate/keyring",
            {Operation.UPDATE: rotate},
            summary="Rotate the encryption key (sudo; OpenBao's name)",
        ),
        Path("host-info", {Operation.READ: read_host_info}, summary="The host (sudo)"),
        Path("key-status", {Operation.READ: key_status}, summary="The active key term"),
    ]


def rotate(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.rotate_keyring()


def key_status(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    status = b.core.barrier.key_status()
    installed = datetime.fromtimestamp(status.install_time, UTC)
    return Response(
        data={
            "term": status.term,
            "install_time": installed.isoformat().replace("+00:00", "Z"),
            "encryptions": status.encryptions,
        },
        inject_top_level=True,
    )


def read_host_info(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    return Response(data=host_info())
