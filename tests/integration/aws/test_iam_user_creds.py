"""`iam_user` credentials end to end: issue, authenticate, renew, revoke (rules 30-40).

Each test gets a fresh `aws/` mount and a fresh moto (see `conftest.py`); the proxy records what
the broker sent to AWS.
"""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import (
    ACCOUNT,
    ALLOW_ALL,
    MUTATING,
    AWSWorld,
    Broker,
    configure,
    iam_name,
)

DAY768 = 768 * 3600
COMPACT_ALLOW_ALL = json.dumps(ALLOW_ALL, separators=(",", ":"))
# Rule 36, in Vault's order.
REVOKE_CALLS = (
    "ListGroupsForUser",
    "ListUserPolicies",
    "ListAttachedUserPolicies",
    "ListAccessKeys",
    "DeleteAccessKey",
    "DetachUserPolicy",
    "DeleteUserPolicy",
    "RemoveUserFromGroup",
    "DeleteUser",
)
# Vault's documented minimum IAM policy for the engine (its docs, "IAM permissions").
VAULT_MINIMUM_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "iam:AttachUserPolicy",
                "iam:CreateAccessKey",
                "iam:CreateUser",
                "iam:DeleteAccessKey",
                "iam:DeleteUser",
                "iam:DeleteUserPolicy",
                "iam:DetachUserPolicy",
                "iam:GetUser",
                "iam:ListAccessKeys",
                "iam:ListAttachedUserPolicies",
                "iam:ListGroupsForUser",
                "iam:ListUserPolicies",
                "iam:PutUserPolicy",
                "iam:AddUserToGroup",
                "iam:RemoveUserFromGroup",
                "iam:TagUser",
            ],
            "Resource": "*",
        }
    ],
}


def managed_policy(aws: AWSWorld, name: str) -> str:
    """A customer managed policy in moto; its ARN."""
    policy = aws.iam().create_policy(PolicyName=name, PolicyDocument=json.dumps(ALLOW_ALL))
    return policy["Policy"]["Arn"]


def user_role(vault: hvac.Client, name: str = "u", **fields: Any) -> None:
    fields.setdefault("policy_document", COMPACT_ALLOW_ALL)
    vault.write(f"aws/roles/{name}", credential_type="iam_user", **fields)


def issued_name(aws: AWSWorld) -> str:
    """The user name the broker sent in its (only) CreateUser call."""
    (call,) = aws.calls("CreateUser")
    name = call.param("UserName")
    assert name is not None
    return name


def rejected(aws: AWSWorld, data: dict[str, Any]) -> str:
    """The error code AWS answers GetCallerIdentity with, for credentials that must fail."""
    with pytest.raises(botocore.exceptions.ClientError) as info:
        aws.caller_arn(data)
    return str(info.value.response["Error"]["Code"])


# --- issue, authenticate, revoke -------------------------------------------------------------


def test_issued_key_authenticates_and_revocation_deletes_the_user(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")

    name = issued_name(aws)
    assert iam_name("u").fullmatch(name), name  # rule 31
    assert len(name) <= 64
    assert aws.caller_arn(creds["data"]) == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    assert aws.users() == [name]
    (create,) = aws.calls("CreateUser")
    assert create.param("Path") == "/"  # rule 30: the default path
    assert create.param("PermissionsBoundary") is None
    assert not any(k.startswith("Tags.") for k in create.params)

    aws.proxy.clear()
    vault.sys.revoke_lease(creds["lease_id"])

    assert rejected(aws, creds["data"]) == "InvalidClientTokenId"
    assert aws.users() == []
    assert all(c.param("UserName") == name for c in aws.calls() if c.action in REVOKE_CALLS)


def test_revocation_calls_in_vault_order(aws: AWSWorld, vault: hvac.Client) -> None:  # rule 36
    arns = [managed_policy(aws, "p1"), managed_policy(aws, "p2")]
    for group in ("g1", "g2"):
        aws.iam().create_group(GroupName=group)
    user_role(vault, policy_arns=arns, iam_groups=["g1", "g2"])
    creds = vault.secrets.aws.generate_credentials("u")
    name = issued_name(aws)
    aws.proxy.clear()

    vault.sys.revoke_lease(creds["lease_id"])

    actions = aws.actions()
    assert [a for a in actions if a in REVOKE_CALLS] == [
        "ListGroupsForUser",
        "ListUserPolicies",
        "ListAttachedUserPolicies",
        "ListAccessKeys",
        "DeleteAccessKey",
        "DetachUserPolicy",
        "DetachUserPolicy",
        "DeleteUserPolicy",
        "RemoveUserFromGroup",
        "RemoveUserFromGroup",
        "DeleteUser",
    ]
    # Our extra best-effort cleanup (login profile, MFA...) sits between the groups and
    # DeleteUser, and changes nothing Vault's sequence does.
    assert actions[-1] == "DeleteUser"
    assert [c.param("PolicyArn") for c in aws.calls("DetachUserPolicy")] == arns
    assert [c.param("GroupName") for c in aws.calls("RemoveUserFromGroup")] == ["g1", "g2"]
    assert aws.calls("DeleteUserPolicy")[0].param("PolicyName") == "u"
    assert aws.users() == []
    assert aws.iam().get_group(GroupName="g1")["Users"] == []
    assert name not in json.dumps(aws.iam().list_entities_for_policy(PolicyArn=arns[0]))


def test_create_call_sequence(aws: AWSWorld, vault: hvac.Client) -> None:  # rule 30
    arns = [managed_policy(aws, "p1"), managed_policy(aws, "p2")]
    boundary = managed_policy(aws, "boundary")
    for group in ("g1", "g2"):
        aws.iam().create_group(GroupName=group)
    user_role(
        vault,
        "team-role",
        user_path="/team/",
        permissions_boundary_arn=boundary,
        iam_tags=["team=a", "env=prod"],
        policy_arns=arns,
        iam_groups="g1,g2",
        policy_document=json.dumps(ALLOW_ALL, indent=2),
    )

    vault.secrets.aws.generate_credentials("team-role")

    assert aws.mutating_calls() == [
        "CreateUser",
        "AttachUserPolicy",
        "AttachUserPolicy",
        "PutUserPolicy",
        "AddUserToGroup",
        "AddUserToGroup",
        "CreateAccessKey",
    ]
    assert aws.calls("TagUser") == []  # our difference: the tags travel in CreateUser
    name = issued_name(aws)
    assert iam_name("team-role").fullmatch(name)
    (create,) = aws.calls("CreateUser")
    assert create.param("Path") == "/team/"
    assert create.param("PermissionsBoundary") == boundary
    tags = {
        create.param(f"Tags.member.{i}.Key"): create.param(f"Tags.member.{i}.Value") for i in (1, 2)
    }
    assert tags == {"team": "a", "env": "prod"}
    assert [c.param("PolicyArn") for c in aws.calls("AttachUserPolicy")] == arns
    (put,) = aws.calls("PutUserPolicy")
    assert (put.param("PolicyName"), put.param("PolicyDocument")) == (
        "team-role",
        COMPACT_ALLOW_ALL,
    )
    assert [c.param("GroupName") for c in aws.calls("AddUserToGroup")] == ["g1", "g2"]
    assert {c.param("UserName") for c in aws.calls() if c.action in MUTATING} == {name}

    # ...and AWS really holds all of it.
    iam = aws.iam()
    user = iam.get_user(UserName=name)["User"]
    assert user["Path"] == "/team/"
    assert {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]} == tags
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == arns
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["team-role"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]] == [
        "g1",
        "g2",
    ]


# --- leases (rules 33, 16-18 of the lease manager) --------------------------------------------


def test_lease_envelope_with_mount_default(aws: AWSWorld, broker: Broker) -> None:  # rule 33
    user_role(broker.vault)
    body = broker.ok("GET", "aws/creds/u")
    assert body["renewable"] is True
    assert body["lease_duration"] == DAY768  # no config/lease: the mount (system) default
    prefix, _, suffix = body["lease_id"].rpartition("/")
    assert prefix == "aws/creds/u"
    assert len(suffix) == 24
    assert suffix.isalnum()
    data = body["data"]
    assert data["security_token"] is None
    assert data["access_key"].startswith("AKIA")
    assert data["secret_key"]


def test_lease_duration_follows_mount_tuning(aws: AWSWorld, vault: hvac.Client) -> None:
    vault.sys.tune_mount_configuration("aws", default_lease_ttl="2h", max_lease_ttl="3h")
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    assert creds["lease_duration"] == 7200
    vault.secrets.aws.configure_lease("5h", "6h")  # above the mount's max: capped
    creds = vault.secrets.aws.generate_credentials("u")
    assert creds["lease_duration"] == 3 * 3600


def test_lease_from_config_lease_and_lookup(aws: AWSWorld, vault: hvac.Client) -> None:
    vault.secrets.aws.configure_lease("30m", "1h")
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    assert (creds["lease_duration"], creds["renewable"]) == (1800, True)

    lease = vault.sys.read_lease(creds["lease_id"])["data"]
    assert lease["id"] == creds["lease_id"]
    assert lease["renewable"] is True
    assert 1790 <= lease["ttl"] <= 1800

    renewed = vault.sys.renew_lease(creds["lease_id"])
    assert renewed["lease_id"] == creds["lease_id"]
    assert renewed["renewable"] is True
    assert 1790 <= renewed["lease_duration"] <= 1800


def test_renewal_capped_at_lease_max(aws: AWSWorld, vault: hvac.Client) -> None:
    vault.secrets.aws.configure_lease("1h", "20m")  # lease > lease_max is not checked
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    assert creds["lease_duration"] == 1200  # capped at registration

    renewed = vault.sys.renew_lease(creds["lease_id"])
    assert 1190 <= renewed["lease_duration"] <= 1200  # counted from the issue time
    assert renewed["warnings"]


def test_creds_and_sts_paths_both_issue(aws: AWSWorld, broker: Broker) -> None:
    user_role(broker.vault)
    # GET with query parameters: `ttl` is accepted and ignored for iam_user.
    body = broker.ok("GET", "aws/creds/u", params={"ttl": "900"})
    assert body["lease_duration"] == DAY768
    assert body["lease_id"].startswith("aws/creds/u/")
    body = broker.ok("POST", "aws/sts/u", json={"ttl": 900})
    assert body["lease_id"].startswith("aws/sts/u/")
    assert body["renewable"] is True
    assert len(aws.calls("CreateUser")) == 2
    assert len(aws.users()) == 2


def test_revoke_prefix_revokes_every_lease_of_the_role(aws: AWSWorld, vault: hvac.Client) -> None:
    user_role(vault)
    user_role(vault, "other")
    for role in ("u", "u", "other"):
        vault.secrets.aws.generate_credentials(role)
    assert len(aws.users()) == 3

    vault.sys.revoke_prefix("aws/creds/u")

    remaining = aws.users()
    assert len(remaining) == 1
    assert iam_name("other").fullmatch(remaining[0])
    assert len(aws.calls("DeleteUser")) == 2


def poll(condition: Any, timeout: float = 15.0) -> bool:
    """Wait (bounded) for the server's background work to make `condition()` true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def test_expired_lease_is_revoked_by_the_server(aws: AWSWorld, vault: hvac.Client) -> None:
    vault.secrets.aws.configure_lease("2s", "2s")
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    assert creds["lease_duration"] == 2
    assert len(aws.users()) == 1

    assert poll(lambda: aws.users() == []), "the expired lease was not revoked"
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(creds["lease_id"])


def test_revoking_the_token_revokes_its_credentials(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    user_role(vault)
    token = vault.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    child = broker.server.client(token)
    creds = child.secrets.aws.generate_credentials("u")
    # The child token's display name: Vault's "token-" + hvac's default display_name "token".
    assert issued_name(aws).startswith("vault-token-token-u-")

    vault.auth.token.revoke(token)

    assert poll(lambda: aws.users() == []), "the token's lease was not revoked"
    assert rejected(aws, creds["data"]) == "InvalidClientTokenId"


# --- revocation edge cases (rule 37 at the HTTP level; the time part is in test_wal.py) ------


def test_young_lease_of_a_vanished_user_is_not_forgotten(
    aws: AWSWorld, vault: hvac.Client, broker: Broker
) -> None:
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    name = issued_name(aws)
    iam = aws.iam()
    iam.delete_access_key(UserName=name, AccessKeyId=creds["data"]["access_key"])
    iam.delete_user_policy(UserName=name, PolicyName="u")
    iam.delete_user(UserName=name)

    errors = broker.errors("PUT", "sys/leases/revoke", 400, json={"lease_id": creds["lease_id"]})
    assert "NoSuchEntity" in errors[0]
    assert vault.sys.read_lease(creds["lease_id"])["data"]["id"] == creds["lease_id"]

    vault.sys.revoke_force("aws/creds/u")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.read_lease(creds["lease_id"])


def test_revocation_works_with_vaults_minimum_iam_policy(aws: AWSWorld, vault: hvac.Client) -> None:
    iam = aws.iam()
    iam.create_user(UserName="awsbroker-test-admin-minimal")
    iam.put_user_policy(
        UserName="awsbroker-test-admin-minimal",
        PolicyName="vault-minimum",
        PolicyDocument=json.dumps(VAULT_MINIMUM_POLICY),
    )
    key = iam.create_access_key(UserName="awsbroker-test-admin-minimal")["AccessKey"]
    configure(vault, aws, key=(key["AccessKeyId"], key["SecretAccessKey"]))
    iam.create_group(GroupName="g")
    user_role(vault, iam_groups="g", iam_tags="a=b")
    creds = vault.secrets.aws.generate_credentials("u")
    assert len(aws.users()) == 1
    aws.proxy.clear()

    vault.sys.revoke_lease(creds["lease_id"])

    assert aws.users() == []
    # The extra cleanup calls were refused (the policy does not allow them), and skipped.
    assert any(c.status == 403 for c in aws.calls())
    assert aws.calls("DeleteUser")[-1].status == 200


def test_a_skipped_clean_up_step_is_one_log_line_naming_the_call(
    aws: AWSWorld, broker: Broker
) -> None:
    user_role(broker.vault)
    creds = broker.vault.secrets.aws.generate_credentials("u")
    name = issued_name(aws)
    aws.proxy.inject("ListSSHPublicKeys", 501, "NotImplemented", "<html>not here</html>")
    aws.proxy.inject("ListSigningCertificates", 403, "AccessDenied", "not allowed")
    aws.proxy.inject("ListMFADevices", 500, "InternalFailure", "<html>oops</html>")
    before = len(broker.server.log())

    broker.vault.sys.revoke_lease(creds["lease_id"])

    assert aws.users() == []
    lines = broker.server.log()[before:].splitlines()
    assert not [line for line in lines if "Traceback" in line]
    # Moto lacks ListServiceSpecificCredentials: one more WARNING, from its 500.
    warnings = [line for line in lines if "[WARNING]" in line]
    assert len(warnings) == 3, warnings
    (mfa,) = [line for line in lines if "ListMFADevices" in line]
    assert (
        "IAM ListMFADevices is not supported by the AWS endpoint (InternalFailure (HTTP 500))"
        in mfa
    )
    (ssh,) = [line for line in lines if "ListSSHPublicKeys" in line]
    assert (
        "[WARNING] awsbroker.engines.aws.iam_user: IAM ListSSHPublicKeys is not supported by the "
        "AWS endpoint (NotImplemented (HTTP 501)); skipped removing the SSH public keys of "
        f"{name}"
    ) in ssh
    (certificates,) = [line for line in lines if "ListSigningCertificates" in line]
    assert (
        f"[INFO]  awsbroker.engines.aws.iam_user: skipped removing the signing certificates of "
        f"{name}: IAM ListSigningCertificates failed: AccessDenied (HTTP 403)"
    ) in certificates
    assert "<html>" not in "\n".join(lines)


# --- username template (rule 32) and key propagation (our extension) -------------------------


def test_username_too_long_is_500_and_calls_nothing(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/config/root", username_template="vault-{{ random 70 }}")
    user_role(broker.vault)
    errors = broker.errors("GET", "aws/creds/u", 500)
    assert any("exceeds the IAM username length limits of 64 chars" in e for e in errors), errors
    assert aws.calls() == []
    assert aws.users() == []


def test_custom_username_template(aws: AWSWorld, vault: hvac.Client) -> None:
    vault.write(
        "aws/config/root",
        username_template="custom-{{ .PolicyName }}-{{ .DisplayName }}-{{ random 8 }}",
    )
    user_role(vault)
    creds = vault.secrets.aws.generate_credentials("u")
    name = issued_name(aws)
    assert name.startswith("custom-u-root-")
    assert len(name) == len("custom-u-root-") + 8
    assert aws.caller_arn(creds["data"]).endswith(f":user/{name}")


def test_key_propagation_timeout_waits_for_the_key(aws: AWSWorld, vault: hvac.Client) -> None:
    user_role(vault, key_propagation_timeout=10)
    creds = vault.secrets.aws.generate_credentials("u")
    seconds = creds["data"]["key_propagation_seconds"]
    assert isinstance(seconds, int | float)
    assert 0 <= seconds < 10
    assert not creds["warnings"]
    checks = aws.calls("GetCallerIdentity")
    assert checks, "no STS check with the new key"
    assert f"Credential={creds['data']['access_key']}/" in checks[-1].headers["authorization"]
    assert checks[-1].status == 200
    # Without the extension the field is absent.
    user_role(vault, "plain")
    assert "key_propagation_seconds" not in vault.secrets.aws.generate_credentials("plain")["data"]


# --- AWS failures (rules 38-40; the rollback itself is in test_wal.py) ----------------------


def test_throttled_create_user_is_502_and_leaves_nothing(aws: AWSWorld, broker: Broker) -> None:
    user_role(broker.vault)
    aws.proxy.inject("CreateUser", 400, "Throttling", "Rate exceeded")
    errors = broker.errors("GET", "aws/creds/u", 502)
    assert errors == ["Error creating IAM user: Throttling: Rate exceeded"]
    assert len(aws.calls("CreateUser")) == 2  # max_retries=1: one retry
    assert aws.calls("CreateAccessKey") == []
    assert aws.users() == []


@pytest.mark.parametrize("action", ["AttachUserPolicy", "PutUserPolicy", "CreateAccessKey"])
def test_throttling_on_a_later_step_is_502(aws: AWSWorld, broker: Broker, action: str) -> None:
    user_role(broker.vault, policy_arns=managed_policy(aws, "p"))
    aws.proxy.inject(action, 400, "Throttling", "Rate exceeded")
    errors = broker.errors("GET", "aws/creds/u", 502)
    assert errors[0].endswith(": Throttling: Rate exceeded")


def test_create_access_key_failure_is_400_and_leaves_the_user(
    aws: AWSWorld, broker: Broker
) -> None:  # rule 38 (the rollback, 5 minutes later, is proven in test_wal.py)
    user_role(broker.vault)
    aws.proxy.inject("CreateAccessKey", 409, "LimitExceeded", "Cannot exceed quota")
    errors = broker.errors("GET", "aws/creds/u", 400)
    assert errors == ["Error creating access keys: LimitExceeded: Cannot exceed quota"]
    assert aws.users() == [issued_name(aws)]
    # No lease was created.
    assert broker.request("LIST", "sys/leases/lookup/aws/creds/u/").status_code == 404


def test_real_aws_error_after_create_user_is_400(aws: AWSWorld, broker: Broker) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:policy/does-not-exist"
    user_role(broker.vault, policy_arns=missing)
    errors = broker.errors("GET", "aws/creds/u", 400)
    assert errors[0].startswith("Error attaching user policy: NoSuchEntity: ")
    assert "does-not-exist" in errors[0]
    assert aws.calls("CreateAccessKey") == []
    assert aws.users() == [issued_name(aws)]  # left for the rollback
