"""`sys/mounts`, `sys/mounts/:path`, `sys/mounts/:path/tune` (`sys/auth`: path_auth.py),
and `sys/remount` with its status (remount.py moves the mount)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from awsbroker.core.cubbyhole import CUBBYHOLE_ENTRY
from awsbroker.core.mounts import AUTH_PREFIX, MountEntry, normalize_path
from awsbroker.core.remount import QUEUED
from awsbroker.core.system import path_auth
from awsbroker.core.system.mount_tuning import (
    TUNE_FIELDS,
    entry_to_enable,
    mount_info,
    tune_edit,
)
from awsbroker.sdk.errors import InvalidRequest, NotFound
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE
_MOUNT_PATH = r"mounts/(?P<path>.+?)"


def paths() -> list[Path[SystemBackend]]:
    return [
        Path(
            "remount",
            {U: remount},
            {
                "from": Field(T.STRING, "The mount's current path"),
                "to": Field(T.STRING, "The path to move it to"),
            },
            summary="Move a secrets engine or auth method to a new path",
        ),
        Path(
            "remount/status/(?P<migration_id>.+)",
            {R: remount_status},
            {"migration_id": Field(T.STRING, "The ID `sys/remount` answered")},
            summary="The status of a mount move",
        ),
        Path("mounts/?", {R: list_mounts}, summary="List secrets engines"),
        Path(
            _MOUNT_PATH + "/tune",
            {R: read_tune, U: write_tune},
            {"path": Field(T.STRING), **TUNE_FIELDS},
            summary="Tune a secrets engine",
        ),
        Path(
            _MOUNT_PATH,
            {R: read_mount, U: enable_mount, D: disable_mount},
            {
                "path": Field(T.STRING, "Where to mount"),
                "type": Field(T.STRING, "Engine type, e.g. 'aws'"),
                "description": Field(T.STRING, "Human-readable description"),
                "config": Field(T.OBJECT, "default_lease_ttl, max_lease_ttl and other tunables"),
                "options": Field(T.MAP, "Engine options"),
                "local": Field(T.BOOL),
                "seal_wrap": Field(T.BOOL),
                "external_entropy_access": Field(T.BOOL),
                "plugin_name": Field(T.STRING),
                "plugin_version": Field(T.STRING),
            },
            summary="Enable, read or disable a secrets engine",
        ),
    ]


def list_mounts(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    data: JSONObject = {path: mount_info(e) for path, e in sorted(b.core.mounts.entries.items())}
    data["sys/"] = mount_info(SYS_ENTRY)
    data[CUBBYHOLE_ENTRY.path] = mount_info(CUBBYHOLE_ENTRY)
    return Response(data=dict(sorted(data.items())), inject_top_level=True)  # Vault's order


# The system backend's own mount, which Vault lists, reads and reports the tuning of.
SYS_ENTRY = MountEntry(
    "sys/",
    "system",
    "system_00000000",
    "sys",
    "system endpoints used for control, policy and debugging",
)


def _entry(b: SystemBackend, fd: FieldData, *, with_sys: bool = False) -> MountEntry:
    path = normalize_path(fd.get_str("path"))
    entry = b.core.mounts.entries.get(path)
    if entry is None and with_sys and path in (SYS_ENTRY.path, CUBBYHOLE_ENTRY.path):
        return SYS_ENTRY if path == SYS_ENTRY.path else CUBBYHOLE_ENTRY
    if entry is None:
        raise InvalidRequest(f"no mount at {fd.get_str('path').strip('/')}/")
    return entry


def read_mount(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    path = normalize_path(fd.get_str("path"))
    built_in = {SYS_ENTRY.path: SYS_ENTRY, CUBBYHOLE_ENTRY.path: CUBBYHOLE_ENTRY}
    entry = built_in.get(path) or b.core.mounts.entries.get(path)
    if entry is None:
        raise InvalidRequest(f"No secret engine mount at {path}")  # Vault's words, a 400
    return Response(data=mount_info(entry), inject_top_level=True)


def enable_mount(b: SystemBackend, req: Request, fd: FieldData) -> None:
    path = normalize_path(fd.get_str("path"))
    b.core.enable_mount(entry_to_enable(b, fd, path, "aws"))


# Vault's protectedMounts: never unmounted through sys/mounts (a 400, not a silent 204).
_PROTECTED = ("audit/", "auth/", "sys/", "cubbyhole/", "identity/")


def disable_mount(b: SystemBackend, req: Request, fd: FieldData) -> None:
    path = normalize_path(fd.get_str("path"))
    if path.startswith(_PROTECTED):
        raise InvalidRequest(f"cannot unmount {json.dumps(path)}")  # Vault's %q
    b.core.disable_mount(path)


def read_tune(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    path = normalize_path(fd.get_str("path"))
    if path.startswith(AUTH_PREFIX):  # the Vault CLI's `auth tune` comes this way
        return path_auth.read_tune_at(b, path)
    entry = _entry(b, fd, with_sys=True)
    view_default = entry.config.default_lease_ttl or b.core.config.default_lease_ttl
    view_max = entry.config.max_lease_ttl or b.core.config.max_lease_ttl
    data: JSONObject = {
        "default_lease_ttl": view_default,
        "max_lease_ttl": view_max,
        "force_no_cache": entry.config.force_no_cache,
        "description": entry.description,
    }
    if entry.options:
        data["options"] = dict(entry.options)
    for key in ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys"):
        values = getattr(entry.config, key)
        if values:
            data[key] = list(values)
    if entry.config.listing_visibility:
        data["listing_visibility"] = entry.config.listing_visibility
    return Response(data=data, inject_top_level=True)


def write_tune(b: SystemBackend, req: Request, fd: FieldData) -> None:
    path = normalize_path(fd.get_str("path"))
    if path.startswith(AUTH_PREFIX):
        path_auth.write_tune_at(b, path, req, fd)
        return
    path = _entry(b, fd).path
    edit = tune_edit(b, req, fd)
    b.core.tune_mount(path, edit)


def remount(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    source, target = fd.get_str("from"), fd.get_str("to")
    if not source or not target:
        raise InvalidRequest("both 'from' and 'to' path must be specified as a string")
    migration = b.core.remount(normalize_path(source), normalize_path(target))
    data: JSONObject = {"migration_id": migration.migration_id}
    response = Response(data=data, inject_top_level=True)
    response.add_warning(QUEUED)
    return response


def remount_status(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    migration = b.core.migrations.get(fd.get_str("migration_id"))
    if migration is None:
        raise NotFound()
    info: JSONObject = {
        "source_mount": migration.source,
        "target_mount": migration.target,
        "status": migration.status,
    }
    return Response(data={"migration_id": migration.migration_id, "migration_info": info})
