"""The broker's own IAM policies (docs/iam/*.json, docs/iam-policy.md) against moto with its
IAM checks on: the broker's user holds only the policy under test, and each credential type
(issue, renew where it can, revoke) and each rotation runs end to end.

What this proves, and what moto cannot (see tests/support/iam_policies.py and
docs/iam-policy.md): every action the broker calls is in the file, and every action in the file
is called, except the three of `IMPLIED_OR_UNREACHABLE`; taking any one action out makes moto
refuse that call; AssumeRole's Resource is enforced by moto; the other Resources are checked
against the calls the broker made.
"""

from __future__ import annotations

import pytest
from tests.integration.aws.support import Broker
from tests.integration.iam_policy.world import (
    BROKER_USER,
    FLOWS,
    READ_ONLY,
    Flow,
    StepFailed,
    build,
)
from tests.support import iam_policies as policies
from tests.support.aws_proxy import AWSProxy
from tests.support.federation_stand_in import FederationStandIn
from tests.support.moto_process import MotoProcess
from tests.support.moto_server import ADMIN_USER

# Moto has no ListServiceSpecificCredentials: allowed, it answers 500 (NotImplementedError);
# refused, 403. The broker skips that optional step with a warning.
UNIMPLEMENTED = {"ListServiceSpecificCredentials": 500}
# Revocation's best-effort steps: a refusal is logged and skipped (iam_user.py).
OPTIONAL_CLEANUP = frozenset(
    f"iam:{action}"
    for action in (
        "DeleteLoginProfile",
        "ListMFADevices",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "ListSigningCertificates",
        "DeleteSigningCertificate",
        "ListSSHPublicKeys",
        "DeleteSSHPublicKey",
        "ListServiceSpecificCredentials",
    )
)


def _sweep() -> list[tuple[Flow, str]]:
    cases = []
    for flow in FLOWS:
        shipped = policies.load(flow.file, flow.sids)
        for action in sorted(policies.actions(shipped) - policies.IMPLIED_OR_UNREACHABLE):
            cases.append((flow, action))
    return cases


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_the_shipped_policy_is_enough_and_all_of_it_is_used(
    flow: Flow, broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    shipped = policies.load(flow.file, flow.sids)
    world = build(broker, moto, proxy, shipped)

    flow.run(world)

    calls = [c for c in proxy.calls() if c.action != "GetCallerIdentity"]
    answers = {(c.action, c.status) for c in calls if c.status != 200}
    assert answers <= set(UNIMPLEMENTED.items()), answers
    called = {f"{c.service}:{c.action}" for c in calls}
    assert called == policies.actions(shipped) - policies.IMPLIED_OR_UNREACHABLE
    assert policies.resource_misses(shipped, calls, world.user_arns, BROKER_USER) == []


@pytest.mark.parametrize(
    ("flow", "action"), _sweep(), ids=lambda c: c.name if isinstance(c, Flow) else c
)
def test_each_action_is_needed(
    flow: Flow, action: str, broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    world = build(
        broker, moto, proxy, policies.without(policies.load(flow.file, flow.sids), action)
    )

    try:
        flow.run(world)
        failed = False
    except StepFailed:
        failed = True

    # Moto lets DeleteUser through whatever the user still has, so without a clean-up step
    # the revocation still succeeds here; on AWS it fails with DeleteConflict if that thing
    # exists. Every other step's refusal is the operator's error.
    assert failed == (action not in OPTIONAL_CLEANUP)
    refused = {f"{c.service}:{c.action}" for c in proxy.calls() if c.status == 403}
    assert refused == {action}


def test_a_missing_action_fails_the_credential_request(
    broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    policy = policies.without(policies.load("iam_user"), "iam:CreateAccessKey")
    world = build(broker, moto, proxy, policy)
    world.ok(
        "POST", "aws/roles/app", json={"credential_type": "iam_user", "policy_document": READ_ONLY}
    )

    errors = broker.errors("GET", "aws/creds/app", 400)

    assert "Error creating access keys: AccessDenied" in errors[0], errors


def test_moto_enforces_the_assume_role_resource(
    broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    policy = policies.load("assumed_role")
    for statement in policy["Statement"]:
        if statement["Sid"] == "AssumeTargetRoles":
            statement["Resource"] = "arn:aws:iam::111122223333:role/other-path/*"
    world = build(broker, moto, proxy, policy)
    world.ok(
        "POST",
        "aws/roles/deploy",
        json={"credential_type": "assumed_role", "role_arns": [world.target_role_arn]},
    )

    errors = broker.errors("GET", "aws/creds/deploy", 400)

    assert "Error assuming role: AccessDenied" in errors[0], errors


# --- moto's limits, shown (if moto starts checking these, these tests say so) ---------------


def test_moto_matches_iam_resources_against_star(
    broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    """Why the suite widens Resources for moto: the shipped `user/vault-*` does not match."""
    world = build(broker, moto, proxy, policies.load("iam_user"), widen=False)
    world.ok(
        "POST", "aws/roles/app", json={"credential_type": "iam_user", "policy_document": READ_ONLY}
    )

    errors = broker.errors("GET", "aws/creds/app", 400)

    assert "Error creating IAM user: AccessDenied" in errors[0], errors


def test_moto_ignores_conditions_of_identity_policies(
    broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    """CreateUser allowed only with a given permissions boundary, and a role without one: AWS
    refuses, moto lets it through. So the boundary hardening of docs/iam-policy.md is not
    tested here, and the shipped files have no Condition."""
    policy = policies.without(policies.load("iam_user"), "iam:CreateUser")
    boundary = "arn:aws:iam::111122223333:policy/boundary"
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "iam:CreateUser",
            "Resource": "arn:aws:iam::111122223333:user/vault-*",
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}},
        }
    )
    world = build(broker, moto, proxy, policy)
    world.ok(
        "POST", "aws/roles/app", json={"credential_type": "iam_user", "policy_document": READ_ONLY}
    )

    world.ok("GET", "aws/creds/app")
    (create,) = proxy.calls("CreateUser")
    assert create.param("PermissionsBoundary") is None


@pytest.mark.parametrize(
    "flow",
    [f for f in FLOWS if f.name in ("federation_token", "assumed_role")],
    ids=lambda f: f.name,
)
def test_console_sign_in_needs_no_more_than_its_credential_type(
    flow: Flow, broker: Broker, moto: MotoProcess, proxy: AWSProxy
) -> None:
    """docs/iam-policy.md, "Console sign-in": with only the credential type's shipped policy,
    `aws/console/` signs in (the federation endpoint, a loopback stand-in here, is no IAM
    action)."""
    world = build(broker, moto, proxy, policies.load(flow.file, flow.sids))
    key = world.admin.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    with FederationStandIn(moto.endpoint, key["AccessKeyId"], key["SecretAccessKey"]) as signin:
        world.ok("POST", "aws/config/root", json={"federation_endpoint": signin.endpoint})
        flow.run(world)  # writes the role, and gets and revokes a credential of it
        proxy.clear()

        body = world.ok(
            "GET", f"aws/console/{'fed' if flow.name == 'federation_token' else 'deploy'}"
        )

        assert body["data"]["url"].startswith(signin.endpoint + "?Action=login&")
        assert len(signin.requests) == 1
        # The role's calls (its groups' policies, then the STS call), each allowed.
        calls = {(c.action, c.status) for c in proxy.calls()}
        sts_call = "GetFederationToken" if flow.name == "federation_token" else "AssumeRole"
        assert (sts_call, 200) in calls
        assert {status for _, status in calls} == {200}
