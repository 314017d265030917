"""`sys/auth`, `sys/auth/:path` and `sys/auth/:path/tune`: the auth methods' table.

Entries are kept in the core's auth table (`core/auth`) with their full path (`auth/approle/`);
these paths name them without the `auth/` prefix, as Vault's API does. `token/` is built in:
it is listed and tuned (its tuning is stored in the table) but never enabled or disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.mounts import AUTH_PREFIX, MountEntry, normalize_path
from awsbroker.core.system.mount_tuning import (
    TUNE_FIELDS,
    entry_to_enable,
    mount_info,
    tune_edit,
)
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE
_AUTH_PATH = r"auth/(?P<path>.+?)"
_TOKEN_DESCRIPTION = "token based credentials"  # noqa: S105 - a description


def paths() -> list[Path[SystemBackend]]:
    return [
        Path("auth/?", {R: list_auth}, summary="List auth methods"),
        Path(
            _AUTH_PATH + "/tune",
            {R: read_tune, U: write_tune},
            {"path": Field(T.STRING), **TUNE_FIELDS},
            summary="Tune an auth method",
        ),
        Path(
            _AUTH_PATH,
            {R: read_auth, U: enable_auth, D: disable_auth},
            {
                "path": Field(T.STRING, "Where to enable it, below auth/"),
                "type": Field(T.STRING, "Auth method type, e.g. 'approle'"),
                "description": Field(T.STRING, "Human-readable description"),
                "config": Field(T.OBJECT, "default_lease_ttl, max_lease_ttl and other tunables"),
                "options": Field(T.MAP, "Method options"),
                "local": Field(T.BOOL),
                "seal_wrap": Field(T.BOOL),
                "external_entropy_access": Field(T.BOOL),
                "plugin_name": Field(T.STRING),
                "plugin_version": Field(T.STRING),
            },
            summary="Enable, read or disable an auth method",
        ),
    ]


def _full_path(fd: FieldData) -> str:
    return AUTH_PREFIX + normalize_path(fd.get_str("path"))


def _entries(b: SystemBackend) -> dict[str, MountEntry]:
    """The auth table as this node sees it, with the built-in token method."""
    entries = dict(b.core.auth_mounts.entries)
    token = b.core.token_entry
    tuned = entries.get(token.path)
    entries[token.path] = tuned if tuned is not None else token
    return entries


def _info(entry: MountEntry) -> JSONObject:
    info = mount_info(entry)
    if entry.type == "token":
        info["description"] = entry.description or _TOKEN_DESCRIPTION
    config = info["config"]
    assert isinstance(config, dict)
    config["token_type"] = "default-service"  # noqa: S105 - a token kind
    return info


def list_auth(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    data: JSONObject = {
        path.removeprefix(AUTH_PREFIX): _info(entry) for path, entry in sorted(_entries(b).items())
    }
    return Response(data=data, inject_top_level=True)


def read_auth(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    entry = _entries(b).get(_full_path(fd))
    if entry is None:
        path = normalize_path(fd.get_str("path"))
        raise InvalidRequest(f"No auth engine at {path}")  # Vault's words, a 400
    return Response(data=_info(entry), inject_top_level=True)


def enable_auth(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.enable_auth(entry_to_enable(b, fd, _full_path(fd), "approle"))


def disable_auth(b: SystemBackend, req: Request, fd: FieldData) -> None:
    b.core.disable_auth(_full_path(fd))


def _entry(b: SystemBackend, full_path: str) -> MountEntry:
    entry = _entries(b).get(full_path)
    if entry is None:
        raise InvalidRequest(f"no auth method at {full_path}")
    return entry


def read_tune(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    return read_tune_at(b, _full_path(fd))


def read_tune_at(b: SystemBackend, full_path: str) -> Response:
    """The tuning of the auth mount at `full_path` (`auth/...`); also `sys/mounts/auth/...`."""
    entry = _entry(b, full_path)
    limits = b.core.auth_limits(entry)
    data: JSONObject = {
        "default_lease_ttl": limits.default_ttl,
        "max_lease_ttl": limits.max_ttl,
        "force_no_cache": entry.config.force_no_cache,
        "description": _info(entry)["description"],
        "token_type": "default-service",
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
    write_tune_at(b, _full_path(fd), req, fd)


def write_tune_at(b: SystemBackend, full_path: str, req: Request, fd: FieldData) -> None:
    path = _entry(b, full_path).path
    if fd.get_str("token_type") not in ("", "default-service", "default", "service"):
        raise InvalidRequest("batch tokens are not supported; token_type may be 'default-service'")
    edit = tune_edit(b, req, fd)
    b.core.tune_auth(path, edit)
