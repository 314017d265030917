"""`token create|lookup|renew|revoke`: the token store, over `auth/token/`."""

from __future__ import annotations

from typing import Any

from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import UsageError
from awsbroker.cli.flags import Flag


def commands() -> list[Command]:
    return [
        Command(
            "token create",
            "token create [flags]",
            "Create a token, a child of the calling one unless -orphan.",
            create,
            [
                Flag("policy", "A policy of the token (repeatable)", "", "NAME", multiple=True),
                Flag("ttl", "Initial lifetime (e.g. 1h)", "", "DURATION"),
                Flag("explicit-max-ttl", "Lifetime it can never be renewed past", "", "DURATION"),
                Flag("period", "Make it periodic: renewable by this much forever", "", "DURATION"),
                Flag("display-name", "A name shown in audit logs and IAM user names", "", "NAME"),
                Flag("num-uses", "Uses before it is revoked (0: unlimited)", "", "N"),
                Flag("metadata", "key=value metadata (repeatable)", "", "K=V", multiple=True),
                Flag("orphan", "No parent: it outlives the calling token", False),
                Flag("no-default-policy", "Do not attach the default policy", False),
                Flag("renewable", "Whether it can be renewed", True),
            ],
            max_args=0,
        ),
        Command(
            "token lookup",
            "token lookup [flags] [TOKEN]",
            "Show a token (the calling one without an argument).",
            lookup,
            [Flag("accessor", "The argument is an accessor, not a token", False)],
            max_args=1,
        ),
        Command(
            "token renew",
            "token renew [flags] [TOKEN]",
            "Renew a token (the calling one without an argument).",
            renew,
            [Flag("increment", "Ask for this much time from now (e.g. 1h)", "", "DURATION")],
            max_args=1,
        ),
        Command(
            "token revoke",
            "token revoke [flags] [TOKEN]",
            "Revoke a token, its children and their leases (AWS credentials included).",
            revoke,
            [
                Flag("self", "Revoke the calling token", False),
                Flag("accessor", "The argument is an accessor, not a token", False),
                Flag("mode", "orphan: revoke only this token; its children live on", "", "MODE"),
            ],
            max_args=1,
        ),
    ]


def create(ctx: Context) -> int:
    o = ctx.opts
    payload: dict[str, Any] = {
        "renewable": o.get_bool("renewable"),
        "no_parent": o.get_bool("orphan"),
        "no_default_policy": o.get_bool("no-default-policy"),
    }
    policies = [p.strip() for value in o.get_list("policy") for p in value.split(",") if p.strip()]
    if policies:
        payload["policies"] = policies
    for flag, key in [
        ("ttl", "ttl"),
        ("explicit-max-ttl", "explicit_max_ttl"),
        ("period", "period"),
        ("display-name", "display_name"),
    ]:
        if o.get_str(flag):
            payload[key] = o.get_str(flag)
    if o.get_str("num-uses"):
        try:
            payload["num_uses"] = int(o.get_str("num-uses"))
        except ValueError:
            raise UsageError("-num-uses must be a number") from None
    if o.get_list("metadata"):
        meta = {}
        for item in o.get_list("metadata"):
            key, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"invalid -metadata {item!r}: use key=value")
            meta[key] = value
        payload["meta"] = meta
    path = "auth/token/create-orphan" if o.get_bool("orphan") else "auth/token/create"
    ctx.output().secret(ctx.client().put(path, payload) or {})
    return 0


def lookup(ctx: Context) -> int:
    client = ctx.client()
    if ctx.opts.get_bool("accessor"):
        if not ctx.args:
            raise UsageError("-accessor needs an accessor as argument")
        body = client.put("auth/token/lookup-accessor", {"accessor": ctx.args[0]})
    elif ctx.args:
        body = client.put("auth/token/lookup", {"token": ctx.args[0]})
    else:
        body = client.get("auth/token/lookup-self")
    ctx.output().secret(body or {})
    return 0


def renew(ctx: Context) -> int:
    payload: dict[str, Any] = {}
    if ctx.opts.get_str("increment"):
        payload["increment"] = ctx.opts.get_str("increment")
    if ctx.args:
        body = ctx.client().put("auth/token/renew", {"token": ctx.args[0], **payload})
    else:
        body = ctx.client().put("auth/token/renew-self", payload)
    ctx.output().secret(body or {})
    return 0


def revoke(ctx: Context) -> int:
    o, client = ctx.opts, ctx.client()
    mode = o.get_str("mode")
    if mode not in ("", "orphan"):
        raise UsageError(f"invalid -mode {mode!r}: the only mode is orphan")
    if o.get_bool("self"):
        if ctx.args:
            raise UsageError("-self takes no argument")
        client.put("auth/token/revoke-self")
    elif not ctx.args:
        raise UsageError("give a token to revoke, or -self for the calling token")
    elif o.get_bool("accessor"):
        client.put("auth/token/revoke-accessor", {"accessor": ctx.args[0]})
    elif mode == "orphan":
        client.put("auth/token/revoke-orphan", {"token": ctx.args[0]})
    else:
        client.put("auth/token/revoke", {"token": ctx.args[0]})
    ctx.output().success("Success! Revoked token (if it existed)")
    return 0
