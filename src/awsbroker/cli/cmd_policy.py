"""`policy write|read|list|delete`: ACL policies, over `sys/policies/acl/`."""

from __future__ import annotations

from pathlib import Path

from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import REMOTE, CLIError


def commands() -> list[Command]:
    return [
        Command(
            "policy write",
            "policy write [flags] NAME FILE",
            "Create or replace a policy from an HCL or JSON file (- reads stdin).",
            write,
            min_args=2,
            max_args=2,
        ),
        Command(
            "policy read",
            "policy read [flags] NAME",
            "Print a policy's text.",
            read,
            min_args=1,
            max_args=1,
        ),
        Command(
            "policy list", "policy list [flags]", "List the policies.", list_policies, max_args=0
        ),
        Command(
            "policy delete",
            "policy delete [flags] NAME",
            "Delete a policy (tokens that had it lose what it allowed).",
            delete,
            min_args=1,
            max_args=1,
        ),
    ]


def write(ctx: Context) -> int:
    name, source = ctx.args
    if source == "-":
        text = ctx.io.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"cannot read the policy file {source}: {exc.strerror}") from None
    ctx.client().put(f"sys/policies/acl/{name}", {"policy": text})
    ctx.output().success(f"Success! Uploaded policy: {name}")
    return 0


def read(ctx: Context) -> int:
    name = ctx.args[0]
    body = ctx.client().get(f"sys/policies/acl/{name}", allow_404=True)
    if body is None:
        ctx.io.stderr.write(f"No policy named: {name}\n")
        return REMOTE
    out = ctx.output()
    data = body.get("data") or {}
    if out.format == "table" and not out.field:
        out.success(str(data.get("policy", "")).rstrip("\n"))
    else:
        out.mapping(data)
    return 0


def list_policies(ctx: Context) -> int:
    body = ctx.client().list_keys("sys/policies/acl") or {}
    ctx.output().keys(list((body.get("data") or {}).get("keys") or []))
    return 0


def delete(ctx: Context) -> int:
    ctx.client().delete(f"sys/policies/acl/{ctx.args[0]}")
    ctx.output().success(f"Success! Deleted policy: {ctx.args[0]}")
    return 0
