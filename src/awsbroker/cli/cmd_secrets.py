"""`secrets enable|disable|list|tune`: secrets engines, over `sys/mounts/`."""

from __future__ import annotations

from typing import Any

from awsbroker.cli.command import Command, Context
from awsbroker.cli.flags import Flag
from awsbroker.cli.output import human_duration


def _ttl_flags() -> list[Flag]:
    return [
        Flag("default-lease-ttl", "Default lease lifetime (e.g. 1h)", "", "DURATION"),
        Flag("max-lease-ttl", "Longest lease lifetime (e.g. 24h)", "", "DURATION"),
        Flag("description", "Human-readable description", "", "TEXT"),
    ]


def commands() -> list[Command]:
    return [
        Command(
            "secrets enable",
            "secrets enable [flags] TYPE",
            "Enable a secrets engine (TYPE: aws) at -path (default: the type).",
            enable,
            [Flag("path", "Where to mount it", "", "PATH"), *_ttl_flags()],
            min_args=1,
            max_args=1,
        ),
        Command(
            "secrets disable",
            "secrets disable [flags] PATH",
            "Disable a secrets engine: revokes all its leases and deletes its data.",
            disable,
            min_args=1,
            max_args=1,
        ),
        Command(
            "secrets list",
            "secrets list [flags]",
            "List the enabled secrets engines.",
            list_mounts,
            [Flag("detailed", "Show lease TTLs too", False)],
            max_args=0,
        ),
        Command(
            "secrets tune",
            "secrets tune [flags] PATH",
            "Change a secrets engine's lease TTLs or description.",
            tune,
            _ttl_flags(),
            min_args=1,
            max_args=1,
        ),
    ]


def _config(ctx: Context) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for flag in ("default-lease-ttl", "max-lease-ttl", "description"):
        if ctx.opts.get_str(flag):
            config[flag.replace("-", "_")] = ctx.opts.get_str(flag)
    return config


def _mount(path: str) -> str:
    return path.strip("/")


def enable(ctx: Context) -> int:
    kind = ctx.args[0]
    path = _mount(ctx.opts.get_str("path") or kind)
    config = _config(ctx)
    payload: dict[str, Any] = {"type": kind, "description": config.pop("description", "")}
    if config:
        payload["config"] = config
    ctx.client().put(f"sys/mounts/{path}", payload)
    ctx.output().success(f"Success! Enabled the {kind} secrets engine at: {path}/")
    return 0


def disable(ctx: Context) -> int:
    path = _mount(ctx.args[0])
    ctx.client().delete(f"sys/mounts/{path}")
    ctx.output().success(f"Success! Disabled the secrets engine (if it existed) at: {path}/")
    return 0


def list_mounts(ctx: Context) -> int:
    body = ctx.client().get("sys/mounts") or {}
    mounts: dict[str, Any] = body.get("data") or {}
    detailed = ctx.opts.get_bool("detailed")
    headers = ["Path", "Type", "Accessor", "Description"]
    if detailed:
        headers[3:3] = ["Default TTL", "Max TTL"]
    rows = []
    for path, entry in sorted(mounts.items()):
        row = [path, entry.get("type"), entry.get("accessor"), entry.get("description") or "n/a"]
        if detailed:
            config = entry.get("config") or {}
            row[3:3] = [_ttl(config.get("default_lease_ttl")), _ttl(config.get("max_lease_ttl"))]
        rows.append(row)
    ctx.output().table_or_structured(mounts, headers, rows)
    return 0


def _ttl(value: object) -> str:
    return "system" if not value else human_duration(int(str(value)))


def tune(ctx: Context) -> int:
    path = _mount(ctx.args[0])
    ctx.client().put(f"sys/mounts/{path}/tune", _config(ctx))
    ctx.output().success(f"Success! Tuned the secrets engine at: {path}/")
    return 0
