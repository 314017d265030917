"""`aws revoke-sessions ROLE`: end every session of the AWS identity a role's sessions come
from that was issued before now, and revoke their leases (issue 19 section 1), through the
broker's aws/revoke-sessions/ROLE. Never a side effect of anything else: it is its own
command, and a write the caller's policy must grant."""

from __future__ import annotations

from awsbroker.cli.command import Command, Context
from awsbroker.cli.errors import CLIError
from awsbroker.cli.flags import Flag


def commands() -> list[Command]:
    return [
        Command(
            "aws revoke-sessions",
            "aws revoke-sessions [flags] ROLE",
            "End every AWS session issued before now by the identity ROLE's credentials come "
            "from (its target roles for assumed_role, the broker's IAM user for session_token "
            "and federation_token, which ends those of every such role), as the IAM console's "
            "'Revoke active sessions' does, and revoke the broker's leases of those sessions. "
            "Sessions issued afterwards are untouched.",
            revoke_sessions,
            [Flag("mount", "Where the AWS secrets engine is mounted", "aws", "PATH")],
            prints=False,
            min_args=1,
            max_args=1,
        )
    ]


def revoke_sessions(ctx: Context) -> int:
    role = ctx.args[0]
    mount = ctx.opts.get_str("mount").strip("/")
    body = ctx.client().request("POST", f"{mount}/revoke-sessions/{role}") or {}
    data = body.get("data") or {}
    identities = data.get("identities")
    if not isinstance(identities, list):
        raise CLIError(f"{mount}/revoke-sessions/{role} answered without the identities cut")
    for cut in identities:
        ctx.io.stdout.write(
            f"Denied every session of {cut.get('kind')} {cut.get('name')} "
            f"({cut.get('account')}) issued before {cut.get('issued_before')}, "
            f"until {cut.get('denied_until')}\n"
        )
    leases = data.get("leases_revoked") or []
    ctx.io.stdout.write(f"Revoked {len(leases)} lease(s)\n")
    for lease in leases:
        ctx.io.stdout.write(f"  {lease}\n")
    for warning in body.get("warnings") or []:
        ctx.io.stderr.write(f"WARNING! {warning}\n")
    return 0
