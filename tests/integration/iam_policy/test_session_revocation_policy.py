"""docs/iam/session_revocation.json against moto with its IAM checks on: the broker's user holds
only the credential type's shipped policy and session_revocation.json, and an `assumed_role`
and a `federation_token` role with `session_revocation=true` each issue a credential and revoke
it, which writes the broker-owned deny (on the target role; on the broker's own user).

Proven here: the revocation's call (PutRolePolicy on the target role, PutUserPolicy on the
broker's user) is allowed by the file and needed (taken out, moto refuses it and the revocation
fails), and its Resource matches the shipped one as tests/support/iam_policies.py reads AWS's
rules.

What moto cannot prove (docs/iam-policy.md, "What the suite proves, and what moto cannot"):

- docs/iam/boundary.json: moto has no PutUserPermissionsBoundary, and evaluates no permissions
  boundary, so the user runs without it; tests/unit/engines/aws/test_session_revocation_docs.py
  checks that it allows exactly what the six files allow.
- `iam:GetRolePolicy`/`iam:GetUserPolicy` (the periodic drift check's read-back),
  `iam:DeleteRolePolicy`/`iam:DeleteUserPolicy` (the deny's removal once every session it cut
  has ended, up to 12 or 36 hours later) and the overflow into managed policies under
  `/awsbroker-revoked/` (CreatePolicy, Attach*Policy, ...; past the inline policy's 10,240 or
  2,048 characters): not reached by one revocation. Moto evaluates no Condition of an identity
  policy, so the deny on the broker's own user stops every call of that user there, and a second
  federation-token revocation cannot run at all; the `iam:PolicyARN` condition of
  `AttachOverflowDenyPoliciesOnly` is not evaluated either.
- `AssumeRevokersInOtherAccounts`: moto is one account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest
from tests.integration.aws.support import Broker
from tests.integration.iam_policy.world import (
    BROKER_USER,
    READ_ONLY,
    StepFailed,
    World,
    build,
    issue_and_revoke,
)
from tests.support import iam_policies as policies
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.moto_process import MotoProcess

DENY_PREFIX = "awsbroker-revoked-"


def revoke_assumed_role(world: World) -> None:
    fields = {"credential_type": "assumed_role", "role_arns": [world.target_role_arn]}
    issue_and_revoke(world, "deploy", {**fields, "session_revocation": True})
    names = world.admin.list_role_policies(RoleName="deploy")["PolicyNames"]
    if not [n for n in names if n.startswith(DENY_PREFIX)]:
        raise StepFailed(f"no deny on the role: {names}")


def revoke_federation_token(world: World) -> None:
    fields = {"credential_type": "federation_token", "policy_document": READ_ONLY}
    issue_and_revoke(world, "fed", {**fields, "session_revocation": True})
    names = world.admin.list_user_policies(UserName=BROKER_USER)["PolicyNames"]
    if not [n for n in names if n.startswith(DENY_PREFIX)]:
        raise StepFailed(f"no deny on the broker's user: {names}")


@dataclass(frozen=True)
class Case:
    name: str
    base: str  # the credential type's own file
    run: Callable[[World], None]
    # The revocation's calls: what one revocation of this type makes.
    revocation: frozenset[str]


CASES = (
    Case(
        "assumed_role",
        "assumed_role",
        revoke_assumed_role,
        frozenset({"iam:PutRolePolicy"}),
    ),
    Case(
        "federation_token",
        "federation_token",
        revoke_federation_token,
        frozenset({"iam:PutUserPolicy"}),
    ),
)


def attached(case: Case) -> policies.Policy:
    """What the broker's user holds: the type's file and session_revocation.json."""
    statements = [*policies.load(case.base)["Statement"]]
    statements += policies.load("session_revocation")["Statement"]
    return {"Version": "2012-10-17", "Statement": statements}


def until_the_deny(calls: Iterable[Call]) -> list[Call]:
    """The calls up to the deny's write. moto evaluates no Condition, so once a deny is on the
    broker's own user every later call of that user is refused there (the server's periodic
    read-back of the policy included, if its 15-second check falls inside the test)."""
    taken: list[Call] = []
    for call in calls:
        taken.append(call)
        if call.action in ("PutRolePolicy", "PutUserPolicy"):
            break
    return taken


def role_arns(world: World) -> dict[str, str]:
    return {r["RoleName"]: r["Arn"] for r in world.admin.list_roles()["Roles"]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_session_revocation_json_is_enough_to_revoke(
    case: Case, broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    shipped = attached(case)
    world = build(broker, moto, proxy, shipped)

    case.run(world)

    calls = until_the_deny(c for c in proxy.calls() if c.action != "GetCallerIdentity")
    refused = {(c.action, c.status) for c in calls if c.status not in (200, 404)}
    assert refused == set(), refused
    called = {f"{c.service}:{c.action}" for c in calls}
    revocation = policies.actions(policies.load("session_revocation"))
    assert {a for a in called & revocation if a.startswith("iam:")} == case.revocation
    assert (
        policies.resource_misses(shipped, calls, world.user_arns, BROKER_USER, role_arns(world))
        == []
    )


@pytest.mark.parametrize(
    ("case", "action"),
    [(case, action) for case in CASES for action in sorted(case.revocation)],
    ids=lambda c: c.name if isinstance(c, Case) else c,
)
def test_each_revocation_action_is_needed(
    case: Case, action: str, broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    world = build(broker, moto, proxy, policies.without(attached(case), action))

    with pytest.raises(StepFailed, match="sys/leases/revoke"):
        case.run(world)

    refused = {f"{c.service}:{c.action}" for c in proxy.calls() if c.status == 403}
    assert refused == {action}
