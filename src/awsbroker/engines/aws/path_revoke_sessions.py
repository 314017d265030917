"""`revoke-sessions/:name` (issue 19 section 1): end every session of a role's identity issued
before now, as the IAM console's "Revoke active sessions" does (docs/session-revocation.md).

AWS has no handle on one `GetSessionToken` session (its `aws:userid` is the user's own), so
ending those is an explicit operation, never a side effect: a deny conditioned on
`aws:TokenIssueTime` on the identity the role's sessions come from (the broker's user for
session_token and federation_token, each target role for assumed_role), and every lease of this
mount whose session it ends is revoked with it. The work, write-ahead and crash-safe, is
session_revocation.cut_older_sessions, the same path a revocation takes when the identity's deny
policies are full.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from awsbroker.engines.aws import session_revocation as sr
from awsbroker.engines.aws import sts
from awsbroker.engines.aws.records.role import (
    ASSUMED_ROLE,
    FEDERATION_TOKEN,
    SESSION_TOKEN,
    load_role,
)
from awsbroker.engines.aws.records.session_deny import ROLE, USER, Target
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, aws_error
from awsbroker.sdk.errors import BrokerError, InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.records.role import RoleEntry


def paths() -> list[Path[AWSBackend]]:
    return [
        Path(
            r"revoke-sessions/(?P<name>\w(?:[\w.@-]*\w)?)",
            {Operation.UPDATE: revoke_sessions},
            {"name": Field(T.STRING, "Name of the role")},
            summary="End every session of the role's AWS identity issued before now",
        )
    ]


def targets(b: AWSBackend, name: str, role: RoleEntry) -> list[Target]:
    """The identities the role's sessions come from (400 before any write if one cannot be
    reached)."""
    kinds = set(role.credential_types)
    if not kinds & {ASSUMED_ROLE, FEDERATION_TOKEN, SESSION_TOKEN}:
        raise InvalidRequest(
            f'role "{name}" issues iam_user credentials, access keys of users the broker '
            "deletes when their lease is revoked: revoke the leases (sys/leases/revoke-prefix) "
            "instead"
        )
    found: list[Target] = []
    if kinds & {FEDERATION_TOKEN, SESSION_TOKEN}:
        account, user = sts.broker_user(b)
        found.append(Target(USER, user, account=account))
    if ASSUMED_ROLE in kinds:
        try:
            own = b.clients.sts().get_caller_identity()["Account"]
        except AWS_ERRORS as exc:
            raise aws_error("Error reading the broker's identity", exc) from exc
        for arn in role.role_arns:
            account, resource = arn.split(":", 5)[4:]
            via = sr.via_role(role.session_revocation_role_arns, account)
            if account != own and not via:
                raise InvalidRequest(
                    f"cannot write the deny on {arn}, a role in another account than the "
                    f"broker's ({own}): name a role in that account for the broker to assume "
                    "in the role's session_revocation_role_arns"
                )
            found.append(Target(ROLE, resource.rsplit("/", 1)[-1], account=account, via=via))
    return found


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _already_cut(cut_of: list[JSONObject], revoked: list[str]) -> str:
    names = ", ".join(f"{c['kind']} {c['name']} ({c['account']})" for c in cut_of)
    return (
        f"already cut before this failure: every session of {names} issued before now, "
        f"{len(revoked)} lease(s) revoked with them; a retry cuts them again"
    )


def revoke_sessions(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    name = fd.get_str("name")
    role = load_role(b, name)
    if role is None:
        raise InvalidRequest(f'Role "{name}" not found')
    cut_of: list[JSONObject] = []
    revoked: list[str] = []
    warnings: list[str] = []
    for target in targets(b, name, role):
        try:
            cut, leases, problem = sr.cut_older_sessions(b, target)
        except BrokerError as exc:
            if cut_of:  # the identities before it stay cut: the caller is told which
                exc.messages.append(_already_cut(cut_of, revoked))
            raise
        revoked += leases
        cut_of.append(
            {
                "kind": target.kind,
                "name": target.name,
                "account": target.account,
                "issued_before": _iso(cut.before),
                "denied_until": _iso(cut.ends_at),
            }
        )
        if problem:
            warnings.append(
                f"the sessions of {target.kind} {target.name} are cut, but revoking some of "
                f"their leases failed; the broker retries it: {problem}"
            )
    data: JSONObject = {"identities": list(cut_of), "leases_revoked": list(revoked)}
    response = Response(data=data)
    for warning in warnings:
        response.add_warning(warning)
    return response
