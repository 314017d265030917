"""STS credentials end to end: `assumed_role`, `federation_token` and `session_token`
(rules 25-29, 31, 34-35, 40 and the group-policy merge of section 3.7)."""

from __future__ import annotations

import json
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import (
    ACCOUNT,
    STS_NAME,
    AWSWorld,
    Broker,
    iam_name,
)

S3_READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
EC2_READ = {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}
SQS_ALL = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def compact(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"))


def managed_policy(aws: AWSWorld, name: str) -> str:
    created = aws.iam().create_policy(PolicyName=name, PolicyDocument=document(S3_READ))
    return created["Policy"]["Arn"]


def only_call(aws: AWSWorld, action: str) -> Any:
    calls = aws.calls(action)
    assert len(calls) == 1, [c.action for c in aws.calls()]
    return calls[0]


# --- assumed_role ---------------------------------------------------------------------------


def test_assumed_role_authenticates_and_sends_every_parameter(
    aws: AWSWorld, vault: hvac.Client
) -> None:
    arn = aws.create_role("target", external_id="ext-123")
    managed = managed_policy(aws, "filter")
    vault.write(
        "aws/roles/r",
        credential_type="assumed_role",
        role_arns=[arn],
        session_tags=["team=a", "env=prod"],
        external_id="ext-123",
        policy_document=document(S3_READ),
        policy_arns=[managed],
    )

    creds = vault.secrets.aws.generate_credentials("r", endpoint="sts")

    call = only_call(aws, "AssumeRole")
    session = call.param("RoleSessionName")
    assert iam_name("r").fullmatch(session)
    assert len(session) <= 64
    assert call.param("RoleArn") == arn
    assert call.param("DurationSeconds") == "3600"
    assert call.param("ExternalId") == "ext-123"
    assert {
        call.param(f"Tags.member.{i}.Key"): call.param(f"Tags.member.{i}.Value") for i in (1, 2)
    } == {"team": "a", "env": "prod"}
    assert call.param("Policy") == compact(document(S3_READ))
    assert call.param("PolicyArns.member.1.arn") == managed
    assert aws.mutating_calls() == ["AssumeRole"]

    data = creds["data"]
    expected_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/target/{session}"
    assert data["arn"] == expected_arn
    assert aws.caller_arn(data) == expected_arn
    assert data["security_token"]
    assert data["session_token"] == data["security_token"]
    assert creds["renewable"] is False  # rule 34
    assert 3590 <= data["ttl"] <= 3600
    assert abs(creds["lease_duration"] - data["ttl"]) <= 1
    assert creds["lease_id"].startswith("aws/sts/r/")


def test_role_session_name_normalised_and_truncated(aws: AWSWorld, vault: hvac.Client) -> None:
    arn = aws.create_role("target")
    vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn)
    wanted = "alice@example.com/ci job:" + "x" * 60
    creds = vault.secrets.aws.generate_credentials("r", role_session_name=wanted)
    expected = ("alice@example.com_ci_job_" + "x" * 60)[:64]
    assert only_call(aws, "AssumeRole").param("RoleSessionName") == expected
    assert creds["data"]["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/target/{expected}"
    assert aws.caller_arn(creds["data"]).endswith("/" + expected)


def test_role_arn_choice(aws: AWSWorld, broker: Broker) -> None:  # rules 26, 27
    first, second = aws.create_role("first"), aws.create_role("second")
    broker.vault.write("aws/roles/two", credential_type="assumed_role", role_arns=[first, second])
    broker.vault.write("aws/roles/one", credential_type="assumed_role", role_arns=second)

    errors = broker.errors("GET", "aws/creds/two", 400)
    assert errors == ["did not supply a role_arn parameter and unable to determine one"]
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    errors = broker.errors("GET", "aws/creds/two", 400, params={"role_arn": other})
    assert errors == [f'role_arn "{other}" not in allowed role arns for Vault role "two"']
    assert aws.calls() == []

    body = broker.ok("POST", "aws/sts/two", json={"role_arn": second})
    assert aws.calls("AssumeRole")[-1].param("RoleArn") == second
    assert "/second/" in body["data"]["arn"]
    body = broker.ok("GET", "aws/creds/one")  # rule 27: the only ARN
    assert aws.calls("AssumeRole")[-1].param("RoleArn") == second
    assert body["lease_id"].startswith("aws/creds/one/")


def test_assumed_role_without_role_arns_fails_at_issue(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/roles/r", credential_type="assumed_role")  # accepted at write
    errors = broker.errors("GET", "aws/creds/r", 400)
    assert errors == ["did not supply a role_arn parameter and unable to determine one"]
    assert aws.calls() == []


@pytest.mark.parametrize(
    ("role_fields", "request_fields", "expected"),
    [
        ({}, {}, "3600"),
        ({"default_sts_ttl": 900}, {}, "900"),
        ({"default_sts_ttl": 900}, {"ttl": "20m"}, "1200"),
        ({"max_sts_ttl": 3600}, {"ttl": 7200}, "3600"),
    ],
)
def test_sts_ttl(
    aws: AWSWorld,
    broker: Broker,
    role_fields: dict[str, Any],
    request_fields: dict[str, Any],
    expected: str,
) -> None:  # rule 28
    arn = aws.create_role("target")
    broker.vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn, **role_fields)
    body = broker.ok("GET", "aws/creds/r", params=request_fields)
    assert only_call(aws, "AssumeRole").param("DurationSeconds") == expected
    assert int(expected) - 10 <= body["lease_duration"] <= int(expected)
    assert not body["warnings"]  # the cap is silent


def test_sts_ttl_capped_by_mount_max(aws: AWSWorld, broker: Broker) -> None:
    # (default_lease_ttl only because the core refuses a max below the *system* default.)
    broker.vault.sys.tune_mount_configuration("aws", default_lease_ttl="1h", max_lease_ttl="2h")
    broker.vault.write("aws/roles/f", credential_type="federation_token", policy_document="{}")
    broker.ok("GET", "aws/creds/f", params={"ttl": "3h"})
    assert only_call(aws, "GetFederationToken").param("DurationSeconds") == "7200"


TTL_15M_POLICY = """
path "aws/creds/r" {
  capabilities = ["read", "update"]
  allowed_parameters = { "ttl" = ["15m"] }
  required_parameters = ["ttl"]
}
"""


def test_a_policys_allowed_ttl_bounds_the_credential(aws: AWSWorld, broker: Broker) -> None:
    # Issue 14: a token whose policy allows only ttl=15m got a 12 h credential.
    arn = aws.create_role("target")
    broker.vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn)
    broker.vault.sys.create_or_update_acl_policy("creds-15m", TTL_15M_POLICY)
    token = broker.vault.auth.token.create(policies=["creds-15m"])["auth"]["client_token"]

    def status(method: str, **kwargs: Any) -> int:
        return broker.server.request(method, "aws/creds/r", token=token, **kwargs).status_code

    assert status("GET", params={"ttl": "12h"}) == 403  # the query of a read
    assert status("POST", json={"ttl": "12h"}) == 403
    assert status("GET") == 403  # ttl is required
    assert aws.calls() == []
    response = broker.server.request("GET", "aws/creds/r", token=token, params={"ttl": "15m"})
    assert response.status_code == 200
    assert only_call(aws, "AssumeRole").param("DurationSeconds") == "900"
    assert 890 <= response.json()["lease_duration"] <= 900
    assert status("POST", json={"ttl": "15m"}) == 200


def test_ttl_below_aws_minimum_is_400_without_a_call(aws: AWSWorld, broker: Broker) -> None:
    arn = aws.create_role("target")
    broker.vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn)
    errors = broker.errors("GET", "aws/creds/r", 400, params={"ttl": 60})
    assert errors[0].startswith("Error assuming role: InvalidParameter: ")
    assert "DurationSeconds" in errors[0]
    assert aws.calls() == []


def test_sts_lease_is_not_renewable_and_revoking_calls_nothing(
    aws: AWSWorld, broker: Broker
) -> None:  # rules 34, 35
    arn = aws.create_role("target")
    broker.vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn)
    creds = broker.vault.secrets.aws.generate_credentials("r")
    lease = broker.vault.sys.read_lease(creds["lease_id"])["data"]
    assert lease["renewable"] is False

    errors = broker.errors("PUT", "sys/leases/renew", 400, json={"lease_id": creds["lease_id"]})
    assert errors == ["lease is not renewable"]

    aws.proxy.clear()
    broker.vault.sys.revoke_lease(creds["lease_id"])
    assert aws.calls() == []
    with pytest.raises(hvac.exceptions.InvalidRequest):
        broker.vault.sys.read_lease(creds["lease_id"])
    # STS credentials cannot be revoked: they stay valid until they expire.
    assert aws.caller_arn(creds["data"]) == creds["data"]["arn"]


def test_aws_refusal_is_400_with_its_code_and_message(aws: AWSWorld, broker: Broker) -> None:
    arn = aws.create_role("target", external_id="right-id")
    broker.vault.write(
        "aws/roles/r", credential_type="assumed_role", role_arns=arn, external_id="wrong-id"
    )
    errors = broker.errors("GET", "aws/creds/r", 400)
    assert errors[0].startswith("Error assuming role: AccessDenied: ")
    assert "sts:AssumeRole" in errors[0]
    assert only_call(aws, "AssumeRole").status == 403


def test_injected_validation_error_is_400(aws: AWSWorld, broker: Broker) -> None:
    arn = aws.create_role("target")
    broker.vault.write("aws/roles/r", credential_type="assumed_role", role_arns=arn)
    aws.proxy.inject("AssumeRole", 400, "ValidationError", "1 validation error detected")
    errors = broker.errors("GET", "aws/creds/r", 400)
    assert errors == ["Error assuming role: ValidationError: 1 validation error detected"]
    assert len(aws.calls("AssumeRole")) == 1  # not retried


@pytest.mark.parametrize("action", ["AssumeRole", "GetFederationToken"])
def test_throttled_sts_call_is_502(aws: AWSWorld, broker: Broker, action: str) -> None:  # rule 40
    arn = aws.create_role("target")
    kind = "assumed_role" if action == "AssumeRole" else "federation_token"
    fields: dict[str, Any] = {"role_arns": arn} if kind == "assumed_role" else {}
    broker.vault.write(
        "aws/roles/r", credential_type=kind, policy_document=document(S3_READ), **fields
    )
    aws.proxy.inject(action, 400, "Throttling", "Rate exceeded")
    errors = broker.errors("GET", "aws/creds/r", 502)
    assert errors[0].endswith("Throttling: Rate exceeded")
    assert len(aws.calls(action)) == 2  # max_retries=1


# --- federation_token -------------------------------------------------------------------------


def test_federation_token(aws: AWSWorld, broker: Broker) -> None:
    managed = managed_policy(aws, "filter")
    broker.vault.secrets.aws.create_or_update_role(
        "f", "federation_token", policy_document=document(S3_READ), policy_arns=[managed]
    )
    body = broker.ok("POST", "aws/sts/f")

    call = only_call(aws, "GetFederationToken")
    name = call.param("Name")
    assert STS_NAME.fullmatch(name)
    assert len(name) == 32
    assert call.param("DurationSeconds") == "3600"
    assert call.param("Policy") == compact(document(S3_READ))
    assert call.param("PolicyArns.member.1.arn") == managed
    assert body["lease_id"].startswith("aws/sts/f/")
    assert body["renewable"] is False
    data = body["data"]
    assert data["security_token"]
    assert data["session_token"] == data["security_token"]
    assert "arn" not in data
    assert 3590 <= data["ttl"] <= 3600
    # GET creds/ works the same for a non-legacy role.
    assert broker.ok("GET", "aws/creds/f")["lease_id"].startswith("aws/creds/f/")


def test_federation_token_without_policy_is_refused(aws: AWSWorld, broker: Broker) -> None:
    aws.iam().create_group(GroupName="empty")
    broker.vault.write("aws/roles/f", credential_type="federation_token", iam_groups="empty")
    errors = broker.errors("POST", "aws/sts/f", 400)  # rule 29
    assert errors == [
        "must specify at least one of policy_arns or policy_document with federation_token "
        "credential_type"
    ]
    assert aws.mutating_calls() == []


def make_groups(aws: AWSWorld) -> str:
    """g1: an inline policy and a managed one; g2: an inline policy only. g1's managed ARN."""
    iam = aws.iam()
    managed = managed_policy(aws, "g1-managed")
    iam.create_group(GroupName="g1")
    iam.put_group_policy(GroupName="g1", PolicyName="inline", PolicyDocument=document(S3_READ))
    iam.attach_group_policy(GroupName="g1", PolicyArn=managed)
    iam.create_group(GroupName="g2")
    iam.put_group_policy(GroupName="g2", PolicyName="inline", PolicyDocument=document(EC2_READ))
    return managed


def test_group_policies_are_merged(aws: AWSWorld, broker: Broker) -> None:  # section 3.7
    group_managed = make_groups(aws)
    own = managed_policy(aws, "own")
    broker.vault.write(
        "aws/roles/f",
        credential_type="federation_token",
        iam_groups="g1,g2",
        policy_document=json.dumps({"Version": "2012-10-17", "Statement": SQS_ALL}),
        policy_arns=own,
    )
    broker.ok("POST", "aws/sts/f")

    call = only_call(aws, "GetFederationToken")
    merged = {"Version": "2012-10-17", "Statement": [S3_READ, EC2_READ, SQS_ALL]}
    assert call.param("Policy") == json.dumps(merged, separators=(",", ":"))
    assert call.param("PolicyArns.member.1.arn") == own
    assert call.param("PolicyArns.member.2.arn") == group_managed
    assert call.param("PolicyArns.member.3.arn") is None
    reads = [c.action for c in aws.calls() if c.action != "GetFederationToken"]
    assert reads == [
        "ListAttachedGroupPolicies",
        "ListGroupPolicies",
        "GetGroupPolicy",
        "ListAttachedGroupPolicies",
        "ListGroupPolicies",
        "GetGroupPolicy",
    ]


def test_group_policies_alone_satisfy_federation_token(aws: AWSWorld, broker: Broker) -> None:
    make_groups(aws)
    broker.vault.write("aws/roles/f", credential_type="federation_token", iam_groups="g2")
    broker.ok("POST", "aws/sts/f")
    call = only_call(aws, "GetFederationToken")
    assert json.loads(call.param("Policy"))["Statement"] == [EC2_READ]
    assert call.param("PolicyArns.member.1.arn") is None


def test_group_merge_for_assumed_role(aws: AWSWorld, broker: Broker) -> None:
    group_managed = make_groups(aws)
    arn = aws.create_role("target")
    broker.vault.write(
        "aws/roles/r", credential_type="assumed_role", role_arns=arn, iam_groups="g1"
    )
    creds = broker.ok("GET", "aws/creds/r")
    call = only_call(aws, "AssumeRole")
    assert json.loads(call.param("Policy"))["Statement"] == [S3_READ]
    assert call.param("PolicyArns.member.1.arn") == group_managed
    assert aws.caller_arn(creds["data"]) == creds["data"]["arn"]


def test_missing_group_is_400_and_nothing_issued(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write(
        "aws/roles/f",
        credential_type="federation_token",
        iam_groups="nope",
        policy_document=document(S3_READ),
    )
    errors = broker.errors("POST", "aws/sts/f", 400)
    assert "NoSuchEntity" in errors[0]
    assert aws.mutating_calls() == []


# --- session_token ----------------------------------------------------------------------------


def test_session_token_with_mfa(aws: AWSWorld, broker: Broker) -> None:
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/root-device"
    broker.vault.write("aws/roles/s", credential_type="session_token", mfa_serial_number=serial)
    body = broker.ok("GET", "aws/creds/s", params={"mfa_code": "123456", "ttl": "15m"})

    call = only_call(aws, "GetSessionToken")
    assert call.param("SerialNumber") == serial
    assert call.param("TokenCode") == "123456"
    assert call.param("DurationSeconds") == "900"
    assert aws.mutating_calls() == ["GetSessionToken"]
    assert body["renewable"] is False
    assert body["lease_id"].startswith("aws/creds/s/")
    data = body["data"]
    assert data["session_token"]
    assert data["security_token"] == data["session_token"]
    assert 890 <= data["ttl"] <= 900


def test_session_token_without_mfa(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.write("aws/roles/s", credential_type="session_token")
    broker.ok("POST", "aws/sts/s")
    call = only_call(aws, "GetSessionToken")
    assert (call.param("SerialNumber"), call.param("TokenCode")) == (None, None)
    assert call.param("DurationSeconds") == "3600"


# --- legacy roles on the two paths ------------------------------------------------------------


def test_legacy_policy_role_picks_the_type_by_path(aws: AWSWorld, broker: Broker) -> None:
    broker.vault.secrets.aws.create_or_update_role(
        "legacy", "iam_user", policy_document=document(S3_READ), legacy_params=True
    )
    broker.ok("GET", "aws/creds/legacy")  # iam_user through creds/
    assert len(aws.calls("CreateUser")) == 1
    broker.ok("POST", "aws/sts/legacy")  # federation_token through sts/
    assert len(aws.calls("GetFederationToken")) == 1


def test_legacy_policy_arn_role_refused_on_sts_path(aws: AWSWorld, broker: Broker) -> None:
    managed = managed_policy(aws, "legacy")
    broker.vault.secrets.aws.create_or_update_role(
        "legacy", "iam_user", policy_arns=[managed], legacy_params=True
    )
    errors = broker.errors("POST", "aws/sts/legacy", 400)
    assert errors == [
        "attempted to retrieve iam_user credentials through the sts path; "
        "this is not allowed for legacy roles"
    ]
    assert aws.calls() == []
