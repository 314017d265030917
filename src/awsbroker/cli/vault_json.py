"""What Vault's CLI prints for `-format=json` (and `yaml`): the server's answer decoded into
the Go structs of Vault's `api` package and encoded again, so scripts written for `vault`
parse ours unchanged.

Decoding into a struct keeps only the struct's fields, in the struct's order, each with its
zero value when the server left it out; `omitempty` fields are dropped when empty. Go encodes
a map (a secret's `data`, a token's `metadata`) with its keys sorted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

JSON = dict[str, Any]
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, which `omitempty` never drops


class Field(NamedTuple):
    name: str
    zero: object = None
    omitempty: bool = False


# api.SecretAuth
SECRET_AUTH = (
    Field("client_token", ""),
    Field("accessor", ""),
    Field("policies"),
    Field("token_policies"),
    Field("identity_policies"),
    Field("metadata"),
    Field("orphan", False),
    Field("entity_id", ""),
    Field("lease_duration", 0),
    Field("renewable", False),
    Field("mfa_requirement"),
)

# api.SecretWrapInfo
WRAP_INFO = (
    Field("token", ""),
    Field("accessor", ""),
    Field("ttl", 0),
    Field("creation_time", ZERO_TIME),
    Field("creation_path", ""),
    Field("wrapped_accessor", ""),
)

# api.SealStatusResponse, then command.SealStatusOutput's fields from `sys/leader`
STATUS = (
    Field("type", ""),
    Field("initialized", False),
    Field("sealed", False),
    Field("t", 0),
    Field("n", 0),
    Field("progress", 0),
    Field("nonce", ""),
    Field("version", ""),
    Field("build_date", ""),
    Field("migration", False),
    Field("cluster_name", "", omitempty=True),
    Field("cluster_id", "", omitempty=True),
    Field("recovery_seal", False),
    Field("recovery_seal_type", "", omitempty=True),
    Field("storage_type", "", omitempty=True),
    Field("warnings", None, omitempty=True),
    Field("ha_enabled", False),
    Field("is_self", False, omitempty=True),
    Field("active_time", ZERO_TIME),  # a time.Time is a struct: omitempty never drops it
    Field("leader_address", "", omitempty=True),
    Field("leader_cluster_address", "", omitempty=True),
    Field("performance_standby", False, omitempty=True),
    Field("performance_standby_last_remote_wal", 0, omitempty=True),
    Field("last_wal", 0, omitempty=True),
    Field("raft_committed_index", 0, omitempty=True),
    Field("raft_applied_index", 0, omitempty=True),
)
# api.AuthConfigOutput
AUTH_CONFIG = (
    Field("default_lease_ttl", 0),
    Field("max_lease_ttl", 0),
    Field("force_no_cache", False),
    Field("plugin_name", "", omitempty=True),
    Field("audit_non_hmac_request_keys", None, omitempty=True),
    Field("audit_non_hmac_response_keys", None, omitempty=True),
    Field("listing_visibility", "", omitempty=True),
    Field("passthrough_request_headers", None, omitempty=True),
    Field("allowed_response_headers", None, omitempty=True),
    Field("token_type", "", omitempty=True),
    Field("user_lockout_config", None, omitempty=True),
)

# api.AuthMount (`config` is AUTH_CONFIG)
AUTH_MOUNT = (
    Field("uuid", ""),
    Field("type", ""),
    Field("description", ""),
    Field("accessor", ""),
    Field("config"),
    Field("options"),
    Field("local", False),
    Field("seal_wrap", False),
    Field("external_entropy_access", False),
    Field("plugin_version", ""),
    Field("running_plugin_version", ""),
    Field("running_sha256", ""),
    Field("deprecation_status", ""),
)

# `sys/leader`'s fields that `status` copies into its output (Vault's OutputSealStatus).
LEADER_FIELDS = tuple(f.name for f in STATUS[[f.name for f in STATUS].index("ha_enabled") :])


def _empty(value: object) -> bool:
    if isinstance(value, bool):
        return not value
    return value is None or value in ("", 0) or (isinstance(value, list | dict) and not value)


def sorted_maps(value: object) -> object:
    """`value` as Go encodes a decoded interface{}: every map's keys in sorted order."""
    if isinstance(value, Mapping):
        return {key: sorted_maps(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_maps(item) for item in value]
    return value


def struct(body: Mapping[str, Any] | None, fields: Sequence[Field]) -> JSON:
    """`body` decoded into a Go struct of `fields` and encoded again."""
    body = body or {}
    out: JSON = {}
    for field in fields:
        value = body.get(field.name)
        if value is None:  # missing or null: Go leaves the field at its zero value
            value = field.zero
        if field.omitempty and _empty(value):
            continue
        out[field.name] = sorted_maps(value)
    return out


def secret(body: Mapping[str, Any]) -> JSON:
    """api.Secret: what `read`, `write`, `token create|lookup|renew` and `lease` print."""
    auth, wrap = body.get("auth"), body.get("wrap_info")
    data = body.get("data")
    out: JSON = {
        "request_id": body.get("request_id") or "",
        "lease_id": body.get("lease_id") or "",
        "lease_duration": body.get("lease_duration") or 0,
        "renewable": bool(body.get("renewable")),
        "data": sorted_maps(data) if isinstance(data, Mapping) else None,
        "warnings": body.get("warnings"),
    }
    if isinstance(auth, Mapping):
        out["auth"] = struct(auth, SECRET_AUTH)
    if isinstance(wrap, Mapping):
        out["wrap_info"] = struct(wrap, WRAP_INFO)
    if body.get("mount_type"):
        out["mount_type"] = body["mount_type"]
    return out


def status(seal_status: Mapping[str, Any], leader: Mapping[str, Any]) -> JSON:
    """`status` and `operator unseal`: the seal status with `sys/leader`'s HA fields."""
    merged = {**seal_status, **{k: leader[k] for k in LEADER_FIELDS if k in leader}}
    return struct(merged, STATUS)


def init(request: Mapping[str, int], response: Mapping[str, Any]) -> JSON:
    """`operator init`: Vault's machine-readable init result (command.machineInit)."""
    hex_keys, b64_keys = response.get("keys"), response.get("keys_base64")
    stored = not hex_keys  # no shares back: the seal keeps the key, as one share of one
    return {
        "unseal_keys_b64": b64_keys or None,
        "unseal_keys_hex": hex_keys or None,
        "unseal_shares": 1 if stored else request["secret_shares"],
        "unseal_threshold": 1 if stored else request["secret_threshold"],
        "recovery_keys_b64": response.get("recovery_keys_base64") or None,
        "recovery_keys_hex": response.get("recovery_keys") or None,
        "recovery_keys_shares": request.get("recovery_shares", 0),
        "recovery_keys_threshold": request.get("recovery_threshold", 0),
        "root_token": response.get("root_token") or "",
    }


def login(token: str, lookup: Mapping[str, Any]) -> JSON:
    """`login` with a token: the secret Vault's token login handler builds from lookup-self."""
    token_policies = lookup.get("policies") or None
    identity_policies = lookup.get("identity_policies") or None
    policies = [*(token_policies or []), *(identity_policies or [])] or None
    auth = {
        "client_token": token,
        "accessor": lookup.get("accessor") or "",
        "policies": policies,
        "token_policies": token_policies,
        "identity_policies": identity_policies,
        "metadata": lookup.get("meta") or lookup.get("metadata"),
        "lease_duration": lookup.get("ttl") or 0,
        "renewable": bool(lookup.get("renewable")),
    }
    return secret({"auth": auth})


def auth_mounts(mounts: Mapping[str, Any]) -> JSON:
    """`auth list -format=json`: map[string]*api.AuthMount, keys sorted as Go sorts a map."""
    out: JSON = {}
    for path in sorted(mounts):
        entry = mounts[path] if isinstance(mounts[path], Mapping) else {}
        shaped = struct(entry, AUTH_MOUNT)
        shaped["config"] = struct(entry.get("config"), AUTH_CONFIG)
        out[path] = shaped
    return out


def raw_field(body: Mapping[str, Any], name: str) -> object:
    """Vault's `-field=NAME` of a secret (command.RawField); None when it is not there.

    A token's fields come from `auth`; otherwise the envelope's own fields come first (so
    `-field=renewable` is the lease's, even when `data` has one), then `data`."""
    shaped = secret(body)
    data = shaped["data"] or {}
    auth = shaped.get("auth")
    if auth is not None:
        from_auth = {
            "token": "client_token",
            "token_accessor": "accessor",
            "token_duration": "lease_duration",
            "token_renewable": "renewable",
            "token_policies": "token_policies",
            "identity_policies": "identity_policies",
            "policies": "policies",
        }
        return auth[from_auth[name]] if name in from_auth else data.get(name)
    envelope = {
        "lease_duration": "lease_duration",
        "lease_id": "lease_id",
        "request_id": "request_id",
        "renewable": "renewable",
        "refresh_interval": "lease_duration",
    }
    if name in envelope:
        return shaped[envelope[name]]
    if name == "data":
        return data.get("data", shaped["data"])
    return data.get(name)
