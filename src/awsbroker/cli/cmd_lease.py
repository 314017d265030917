"""`lease lookup|renew|revoke`: the lease manager, over `sys/leases/`."""

from __future__ import annotations

from typing import Any

from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import UsageError
from awsbroker.cli.flags import Flag
from awsbroker.sdk.duration import parse_duration


def commands() -> list[Command]:
    return [
        Command(
            "lease lookup",
            "lease lookup [flags] LEASE_ID",
            "Show a lease: when it was issued, when it expires, whether it can be renewed.",
            lookup,
            min_args=1,
            max_args=1,
        ),
        Command(
            "lease renew",
            "lease renew [flags] LEASE_ID",
            "Renew a lease (iam_user credentials; STS credentials cannot be renewed).",
            renew,
            [Flag("increment", "Ask for this much time from now (e.g. 1h, 90s)", "", "DURATION")],
            min_args=1,
            max_args=1,
        ),
        Command(
            "lease revoke",
            "lease revoke [flags] LEASE_ID_OR_PREFIX",
            "Revoke a lease (and the AWS credentials behind it), or with -prefix every lease "
            "under a prefix (e.g. aws/creds/ROLE).",
            revoke,
            [
                Flag("prefix", "Revoke every lease under the argument, a prefix", False),
                Flag(
                    "force",
                    "With -prefix: forget the leases even if the AWS side cannot be revoked",
                    False,
                ),
                Flag("sync", "Wait for the revocation (-sync=false: queue it and return)", True),
            ],
            min_args=1,
            max_args=1,
        ),
    ]


def lookup(ctx: Context) -> int:
    body = ctx.client().put("sys/leases/lookup", {"lease_id": ctx.args[0]}) or {}
    ctx.output().secret(body)  # as Vault: the whole secret in JSON, its data in the table
    return 0


def renew(ctx: Context) -> int:
    payload: dict[str, Any] = {"lease_id": ctx.args[0]}
    increment = ctx.opts.get_str("increment")
    if increment:
        try:
            payload["increment"] = parse_duration(increment)
        except ValueError as exc:
            raise UsageError(f"invalid -increment {increment!r}: {exc}") from None
    body = ctx.client().put("sys/leases/renew", payload) or {}
    ctx.output().secret(body)
    return 0


def revoke(ctx: Context) -> int:
    target = ctx.args[0]
    prefix, force, sync = (
        ctx.opts.get_bool("prefix"),
        ctx.opts.get_bool("force"),
        ctx.opts.get_bool("sync"),
    )
    client, out = ctx.client(), ctx.output()
    if force and not prefix:
        raise UsageError("-force needs -prefix: it forgets every lease under a prefix")
    if force:
        client.put(f"sys/leases/revoke-force/{target.strip('/')}")
        out.success(f"Success! Force revoked any leases with prefix: {target}")
        return 0
    if prefix:
        client.put(f"sys/leases/revoke-prefix/{target.strip('/')}", {"sync": sync})
        done = "Success! Revoked any leases with prefix" if sync else "Revocation queued for"
        out.success(f"{done}: {target}")
        return 0
    client.put("sys/leases/revoke", {"lease_id": target, "sync": sync})
    out.success(
        f"Success! Revoked lease: {target}" if sync else f"Revocation queued for lease: {target}"
    )
    return 0
