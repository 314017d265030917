"""What `sys/mounts` and `sys/auth` share: the entry an enable request describes, the tunable
fields, TTL settings and their checks, and a mount's description as they list it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.core.mounts import MountEntry, new_entry
from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.logical import JSONObject, JSONValue, Request

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

TUNE_FIELDS = {
    "default_lease_ttl": Field(T.STRING, "Default lease TTL: seconds, a duration, or 'system'"),
    "max_lease_ttl": Field(T.STRING, "Maximum lease TTL: seconds, a duration, or 'system'"),
    "description": Field(T.STRING, "Human-readable description"),
    "options": Field(T.MAP, "Engine options"),
    "force_no_cache": Field(T.BOOL),
    "audit_non_hmac_request_keys": Field(T.STRING_LIST, "Request keys not hashed in audit logs"),
    "audit_non_hmac_response_keys": Field(T.STRING_LIST, "Response keys not hashed in audit logs"),
    "listing_visibility": Field(T.STRING),
    "passthrough_request_headers": Field(T.STRING_LIST),
    "allowed_response_headers": Field(T.STRING_LIST),
    "token_type": Field(T.STRING, "Of an auth method: only 'default-service'"),
}


def entry_to_enable(b: SystemBackend, fd: FieldData, path: str, example_type: str) -> MountEntry:
    """The new table entry an enable request (`sys/mounts/:path`, `sys/auth/:path`) asks for,
    checked: its type (or plugin name), description, options, flags, TTLs and audit keys."""
    mount_type = fd.get_str("type") or fd.get_str("plugin_name")
    if not mount_type:
        raise InvalidRequest(f'\'type\' is required, e.g. {{"type": "{example_type}"}}')
    entry = new_entry(path, mount_type)
    entry.description = fd.get_str("description")
    entry.options = fd.get_map("options")
    entry.local, entry.seal_wrap = fd.get_bool("local"), fd.get_bool("seal_wrap")
    entry.external_entropy_access = fd.get_bool("external_entropy_access")
    config = fd.get_object("config")
    apply_ttls(
        b,
        entry,
        ttl_setting("default_lease_ttl", config.get("default_lease_ttl")),
        ttl_setting("max_lease_ttl", config.get("max_lease_ttl")),
        enabling=True,
    )
    for key in ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys"):
        value = config.get(key)
        if isinstance(value, list):
            setattr(entry.config, key, [str(v) for v in value])
    if config.get("listing_visibility") is not None:
        entry.config.listing_visibility = checked_visibility(config["listing_visibility"])
    return entry


def checked_visibility(raw: JSONValue) -> str:
    """A `listing_visibility`: "" (the default), "hidden" or "unauth" (shown before sign-in
    by `sys/internal/ui/mounts`). Vault's words for anything else."""
    if raw not in ("", "hidden", "unauth"):
        raise InvalidRequest(f"invalid listing_visibility {raw}")
    return str(raw)


def tuned_visibility(fd: FieldData) -> str | None:
    """The `listing_visibility` a tune request sets, checked; None when it sets none."""
    return (
        checked_visibility(fd.get_str("listing_visibility"))
        if fd.is_set("listing_visibility")
        else None
    )


def ttl_setting(name: str, raw: JSONValue) -> int | None:
    """A tunable TTL: None when not supplied or '' (unset); 0 for 'system'; else seconds."""
    if raw is None or raw == "":
        return None
    if raw == "system":
        return 0
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise InvalidRequest(f"invalid {name}: {exc}") from None


def apply_ttls(
    b: SystemBackend,
    entry: MountEntry,
    default: int | None,
    maximum: int | None,
    *,
    enabling: bool = False,
) -> None:
    """As Vault (`tuneMountTTLs`, `handleMount`): the mount's own default and max are compared
    only when both are set; a mount's max may exceed the server's (the mount's max is then the
    limit of its leases, as Vault's system view has it), and a default above the server's max
    is capped at lease time. Enabling, a default above the server's max is refused when the
    mount sets no max of its own."""
    new_default = entry.config.default_lease_ttl if default is None else default
    new_max = entry.config.max_lease_ttl if maximum is None else maximum
    system_max = b.core.config.max_lease_ttl
    if new_default and new_max and new_default > new_max:
        raise InvalidRequest(
            f"backend max lease TTL of {new_max} would be less than backend default lease TTL "
            f"of {new_default}"
        )
    if enabling and not new_max and new_default > system_max:
        raise InvalidRequest(
            f"given default lease TTL greater than system max lease TTL of {system_max}"
        )
    entry.config.default_lease_ttl, entry.config.max_lease_ttl = new_default, new_max


def tune_edit(b: SystemBackend, req: Request, fd: FieldData) -> Callable[[MountEntry], None]:
    """A tune request's settings, checked before anything is written, as the edit to apply to
    the entry as stored at the time of the write (perhaps tuned on another node since this
    one's view was loaded), so concurrent tunes do not undo each other. Shared by
    `sys/mounts/:path/tune` and `sys/auth/:path/tune`."""
    default = ttl_setting("default_lease_ttl", req.data.get("default_lease_ttl"))
    maximum = ttl_setting("max_lease_ttl", req.data.get("max_lease_ttl"))
    lists = {
        key: fd.get_list(key)
        for key in ("audit_non_hmac_request_keys", "audit_non_hmac_response_keys")
        if fd.is_set(key)
    }
    visibility = tuned_visibility(fd)

    def edit(entry: MountEntry) -> None:
        apply_ttls(b, entry, default, maximum)
        if fd.is_set("description"):
            entry.description = fd.get_str("description")
        if fd.is_set("options"):
            entry.options.update(fd.get_map("options"))
        for key, values in lists.items():
            setattr(entry.config, key, values)
        if visibility is not None:
            entry.config.listing_visibility = visibility

    return edit


def mount_info(entry: MountEntry) -> JSONObject:
    config: JSONObject = {
        "default_lease_ttl": entry.config.default_lease_ttl,
        "max_lease_ttl": entry.config.max_lease_ttl,
        "force_no_cache": entry.config.force_no_cache,
    }
    # As Vault's mountInfo: the tuned lists and visibility only when set.
    for key in (
        "audit_non_hmac_request_keys",
        "audit_non_hmac_response_keys",
        "listing_visibility",
        "passthrough_request_headers",
        "allowed_response_headers",
    ):
        value = getattr(entry.config, key)
        if value:
            config[key] = list(value) if isinstance(value, list) else value
    return {
        "accessor": entry.accessor,
        "config": config,
        "description": entry.description,
        "external_entropy_access": entry.external_entropy_access,
        "local": entry.local,
        "options": dict(entry.options) or None,
        "plugin_version": "",
        "running_plugin_version": "",
        "running_sha256": "",
        "seal_wrap": entry.seal_wrap,
        "type": entry.type,
        "uuid": entry.uuid,
    }
