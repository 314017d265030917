"""`audit enable|disable|list`: audit devices, over `sys/audit/`."""

from __future__ import annotations

from typing import Any

from awsbroker.cli import kv_args
from awsbroker.cli.command import Command, Context
from awsbroker.cli.flags import Flag


def commands() -> list[Command]:
    return [
        Command(
            "audit enable",
            "audit enable [flags] TYPE [key=value...]",
            "Enable an audit device (TYPE: file or socket) at -path (default: the type), "
            "e.g. `awsbroker audit enable file file_path=/var/log/awsbroker/audit.log`.",
            enable,
            [
                Flag("path", "Where to enable it", "", "PATH"),
                Flag("description", "Human-readable description", "", "TEXT"),
            ],
            min_args=1,
        ),
        Command(
            "audit disable",
            "audit disable [flags] PATH",
            "Disable an audit device.",
            disable,
            min_args=1,
            max_args=1,
        ),
        Command(
            "audit list",
            "audit list [flags]",
            "List the enabled audit devices.",
            list_devices,
            [Flag("detailed", "Show each device's options", False)],
            max_args=0,
        ),
    ]


def enable(ctx: Context) -> int:
    kind = ctx.args[0]
    path = (ctx.opts.get_str("path") or kind).strip("/")
    options = {k: str(v) for k, v in kv_args.parse(ctx.args[1:], ctx.io.stdin).items()}
    payload: dict[str, Any] = {
        "type": kind,
        "description": ctx.opts.get_str("description"),
        "options": options,
    }
    ctx.client().put(f"sys/audit/{path}", payload)
    ctx.output().success(f"Success! Enabled the {kind} audit device at: {path}/")
    return 0


def disable(ctx: Context) -> int:
    path = ctx.args[0].strip("/")
    ctx.client().delete(f"sys/audit/{path}")
    ctx.output().success(f"Success! Disabled audit device (if it was enabled) at: {path}/")
    return 0


def list_devices(ctx: Context) -> int:
    body = ctx.client().get("sys/audit") or {}
    devices: dict[str, Any] = body.get("data") or {}
    if not devices and ctx.output().format == "table":
        ctx.output().success("No audit devices are enabled.")
        return 0
    headers = ["Path", "Type", "Description"]
    detailed = ctx.opts.get_bool("detailed")
    if detailed:
        headers.append("Options")
    rows = []
    for path, entry in sorted(devices.items()):
        row: list[object] = [path, entry.get("type"), entry.get("description") or "n/a"]
        if detailed:
            row.append(entry.get("options") or {})
        rows.append(row)
    ctx.output().table_or_structured(devices, headers, rows)
    return 0
