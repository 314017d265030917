"""`auth enable|disable|list|tune`: auth methods, over `sys/auth/`, as Vault's CLI.

There is no `login -method=approle`, as in Vault's CLI (it has no AppRole login handler): a
workload logs in with `awsbroker write auth/approle/login role_id=... secret_id=...`.
"""

from __future__ import annotations

from typing import Any

from awsbroker.cli import vault_json
from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag
from awsbroker.sdk.duration import parse_duration

_LIST_CONFIG = {
    "audit-non-hmac-request-keys": "audit_non_hmac_request_keys",
    "audit-non-hmac-response-keys": "audit_non_hmac_response_keys",
}
_STR_CONFIG = {
    "default-lease-ttl": "default_lease_ttl",
    "max-lease-ttl": "max_lease_ttl",
    "listing-visibility": "listing_visibility",
    "token-type": "token_type",
}


def _config_flags() -> list[Flag]:
    return [
        Flag("description", "Human-readable description", "", "TEXT"),
        Flag("default-lease-ttl", "Default TTL of its tokens (e.g. 1h)", "", "DURATION"),
        Flag("max-lease-ttl", "Longest TTL of its tokens (e.g. 24h)", "", "DURATION"),
        Flag("token-type", "Type of its tokens: default-service or service", "", "TYPE"),
        Flag("listing-visibility", "'unauth': shown by the console before sign-in", "", "VALUE"),
        Flag(
            "audit-non-hmac-request-keys",
            "A request key audit devices log in clear (repeatable)",
            "",
            "KEY",
            multiple=True,
        ),
        Flag(
            "audit-non-hmac-response-keys",
            "A response key audit devices log in clear (repeatable)",
            "",
            "KEY",
            multiple=True,
        ),
    ]


def commands() -> list[Command]:
    return [
        Command(
            "auth enable",
            "auth enable [flags] TYPE",
            "Enable an auth method (TYPE: approle, ...) at -path (default: the type).",
            enable,
            [Flag("path", "Where to enable it, below auth/", "", "PATH"), *_config_flags()],
            min_args=1,
            max_args=1,
        ),
        Command(
            "auth disable",
            "auth disable [flags] PATH",
            "Disable an auth method: revokes every token it created, and deletes its data.",
            disable,
            min_args=1,
            max_args=1,
        ),
        Command(
            "auth list",
            "auth list [flags]",
            "List the enabled auth methods.",
            list_methods,
            [Flag("detailed", "Show TTLs, token type, UUID and more", False)],
            max_args=0,
        ),
        Command(
            "auth tune",
            "auth tune [flags] PATH",
            "Change an auth method's token TTLs, token type, description or audit keys.",
            tune,
            _config_flags(),
            min_args=1,
            max_args=1,
        ),
    ]


def _path(value: str) -> str:
    return value.strip("/")


def _config(ctx: Context) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for flag, key in _STR_CONFIG.items():
        value = ctx.opts.get_str(flag)
        if value and flag.endswith("-ttl"):
            try:
                parse_duration(value)
            except ValueError:
                # Checked here, as Vault's CLI checks its duration flags: exit 1, no request.
                raise CLIError(
                    f'invalid value "{value}" for flag -{flag}: {value!r} is not '
                    "a duration (e.g. 90s, 1h30m, or seconds)"
                ) from None
        if value:
            config[key] = value
    for flag, key in _LIST_CONFIG.items():
        if ctx.opts.get_list(flag):
            config[key] = ctx.opts.get_list(flag)
    return config


def enable(ctx: Context) -> int:
    kind = ctx.args[0]
    path = _path(ctx.opts.get_str("path") or kind)
    payload: dict[str, Any] = {"type": kind, "description": ctx.opts.get_str("description")}
    config = _config(ctx)
    if config:
        payload["config"] = config
    ctx.client().put(f"sys/auth/{path}", payload)
    ctx.output().success(f"Success! Enabled {kind} auth method at: {path}/")
    return 0


def disable(ctx: Context) -> int:
    path = _path(ctx.args[0])
    ctx.client().delete(f"sys/auth/{path}")
    ctx.output().success(f"Success! Disabled the auth method (if it existed) at: {path}/")
    return 0


def tune(ctx: Context) -> int:
    path = _path(ctx.args[0])
    body = _config(ctx)
    if ctx.opts.get_str("description"):
        body["description"] = ctx.opts.get_str("description")
    ctx.client().put(f"sys/auth/{path}/tune", body)
    ctx.output().success(f"Success! Tuned the auth method at: {path}/")
    return 0


def list_methods(ctx: Context) -> int:
    body = ctx.client().get("sys/auth") or {}
    mounts = vault_json.auth_mounts(body.get("data") or {})
    headers = ["Path", "Type", "Accessor", "Description", "Version"]
    rows = [
        [path, m["type"], m["accessor"], m["description"], m["plugin_version"] or "n/a"]
        for path, m in mounts.items()
    ]
    if ctx.opts.get_bool("detailed"):
        headers, rows = _detailed(mounts)
    ctx.output().table_or_structured(mounts, headers, rows)
    return 0


def _detailed(mounts: dict[str, Any]) -> tuple[list[str], list[list[object]]]:
    """Vault's `auth list -detailed` columns."""
    headers = [
        "Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Token Type", "Replication",
        "Seal Wrap", "External Entropy Access", "Options", "Description", "UUID", "Version",
        "Running Version", "Running SHA256", "Deprecation Status",
    ]  # fmt: skip
    rows: list[list[object]] = []
    for path, m in mounts.items():
        config = m["config"]
        options = m["options"] or {}
        rows.append([
            path, config.get("plugin_name") or m["type"], m["accessor"],
            config["default_lease_ttl"] or "system", config["max_lease_ttl"] or "system",
            config.get("token_type", ""), "local" if m["local"] else "replicated",
            _go_bool(m["seal_wrap"]), _go_bool(m["external_entropy_access"]),
            "map[" + " ".join(f"{k}:{v}" for k, v in sorted(options.items())) + "]",
            m["description"], m["uuid"], m["plugin_version"] or "n/a",
            m["running_plugin_version"] or "n/a", m["running_sha256"] or "n/a",
            m["deprecation_status"] or "n/a",
        ])  # fmt: skip
    return headers, rows


def _go_bool(value: object) -> str:
    return "true" if value else "false"
