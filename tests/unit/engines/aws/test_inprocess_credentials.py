"""The engine's credentials against an in-process fake of its AWS protocols
(tests/support/inprocess_aws.py): what it asks AWS for, in which order, and what it does with
the answers and the errors, in milliseconds. The same behaviour against moto over HTTP, through
the recording proxy, is proven by tests/integration/aws/."""

from __future__ import annotations

import json

import pytest
from tests.support.inprocess_aws import ACCOUNT, InProcessAWS
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws import iam_user
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, UpstreamError
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/deploy"


@pytest.fixture
def aws() -> InProcessAWS:
    return InProcessAWS()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def b(aws: InProcessAWS, clock: ManualClock) -> AWSBackend:
    config = BackendConfig(storage=InmemStorage(), system=FakeSystemView(clock), mount_path="aws/")
    backend = AWSBackend(config, calls=aws, local=aws)
    backend.sleep = clock.advance
    call(backend, Operation.UPDATE, "config/root", access_key=KEY[0], secret_key=KEY[1])
    return backend


def call(b: AWSBackend, op: Operation, path: str, /, **data: JSONValue) -> Response | None:
    return b.handle_request(Request(operation=op, path=path, data=dict(data), display_name="root"))


def issue(b: AWSBackend, role: str) -> Response:
    response = call(b, Operation.READ, f"creds/{role}")
    assert response is not None
    assert response.data is not None
    return response


def test_an_iam_user_is_made_with_its_policies_groups_and_tags_then_a_key(
    b: AWSBackend, aws: InProcessAWS
) -> None:
    aws.groups["devs"] = ([], {})
    call(
        b, Operation.UPDATE, "roles/u", credential_type="iam_user", policy_document=POLICY,
        policy_arns="arn:aws:iam::aws:policy/ReadOnlyAccess", iam_groups="devs",
        iam_tags="team=infra", user_path="/broker/",
    )  # fmt: skip
    response = issue(b, "u")
    assert [op for op, _ in aws.calls] == [
        "CreateUser", "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey",
    ]  # fmt: skip
    [user] = aws.users.values()
    assert user.path == "/broker/"
    assert user.tags == [{"Key": "team", "Value": "infra"}]
    assert user.attached == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert json.loads(user.inline["u"]) == json.loads(POLICY)
    assert user.groups == ["devs"]
    assert response.data is not None
    assert user.keys == {response.data["access_key"]: response.data["secret_key"]}


def test_revoking_an_iam_user_removes_everything_then_the_user(
    b: AWSBackend, aws: InProcessAWS
) -> None:
    aws.groups["devs"] = ([], {})
    call(b, Operation.UPDATE, "roles/u", credential_type="iam_user", policy_document=POLICY,
         iam_groups="devs")  # fmt: skip
    secret = issue(b, "u").secret
    assert secret is not None
    aws.calls.clear()
    iam_user.revoke(b, Request(operation=Operation.DELETE, path="creds/u"), secret)
    assert aws.users == {}
    done = [op for op, _ in aws.calls]
    assert done[-1] == "DeleteUser"
    assert done.index("DeleteAccessKey") < done.index("DeleteUser")
    assert done.index("RemoveUserFromGroup") < done.index("DeleteUser")


def test_a_half_made_user_is_left_for_the_rollback(b: AWSBackend, aws: InProcessAWS) -> None:
    call(b, Operation.UPDATE, "roles/u", credential_type="iam_user", policy_document=POLICY)
    aws.fail("CreateAccessKey", "LimitExceeded", 409)
    with pytest.raises(InvalidRequest, match="Error creating access keys: LimitExceeded"):
        issue(b, "u")
    assert len(aws.users) == 1
    iam_user.rollback_due(b, min_age=0)
    assert aws.users == {}


def test_key_propagation_waits_on_the_injected_clock(
    b: AWSBackend, aws: InProcessAWS, clock: ManualClock
) -> None:
    call(b, Operation.UPDATE, "roles/u", credential_type="iam_user", policy_document=POLICY,
         key_propagation_timeout=10)  # fmt: skip
    aws.fail("GetCallerIdentity", "InvalidClientTokenId", 403, times=2)
    response = issue(b, "u")
    assert response.data is not None
    assert response.data["key_propagation_seconds"] == 0.5 + 1.0  # backoff, on the clock
    assert not response.warnings
    aws.fail("GetCallerIdentity", "InvalidClientTokenId", 403, times=100)
    late = issue(b, "u")
    assert late.data is not None
    assert late.data["key_propagation_seconds"] == 10
    assert late.warnings == ["AWS had not accepted the new key after 10s; it may fail for a while"]


def test_assumed_role_sends_the_roles_policy_tags_and_external_id(
    b: AWSBackend, aws: InProcessAWS
) -> None:
    call(
        b, Operation.UPDATE, "roles/a", credential_type="assumed_role", role_arns=ROLE_ARN,
        policy_document=POLICY, session_tags="team=infra", external_id="ext-1234",
    )  # fmt: skip
    response = issue(b, "a")
    [args] = aws.names("AssumeRole")
    assert args["RoleArn"] == ROLE_ARN
    assert args["ExternalId"] == "ext-1234"
    assert args["Tags"] == [{"Key": "team", "Value": "infra"}]
    assert json.loads(args["Policy"]) == json.loads(POLICY)
    assert args["DurationSeconds"] == 3600
    assert response.data is not None
    assert (
        response.data["arn"]
        == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{args['RoleSessionName']}"
    )
    assert response.data["security_token"] == response.data["session_token"]
    assert response.secret is not None
    assert response.secret.renewable is False


def test_a_throttled_aws_is_a_502_and_another_error_a_400(b: AWSBackend, aws: InProcessAWS) -> None:
    call(b, Operation.UPDATE, "roles/a", credential_type="assumed_role", role_arns=ROLE_ARN)
    aws.fail("AssumeRole", "Throttling", 400)
    with pytest.raises(UpstreamError, match="Error assuming role: Throttling"):
        issue(b, "a")
    aws.fail("AssumeRole", "AccessDenied", 403)
    with pytest.raises(InvalidRequest, match="Error assuming role: AccessDenied"):
        issue(b, "a")


def test_federation_token_merges_the_groups_policies(b: AWSBackend, aws: InProcessAWS) -> None:
    group_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*"}]}
    aws.groups["g"] = (["arn:aws:iam::aws:policy/Group"], {"p": json.dumps(group_doc)})
    call(b, Operation.UPDATE, "roles/f", credential_type="federation_token",
         policy_document=POLICY, iam_groups="g")  # fmt: skip
    issue(b, "f")
    [args] = aws.names("GetFederationToken")
    assert args["PolicyArns"] == [{"arn": "arn:aws:iam::aws:policy/Group"}]
    statements = json.loads(args["Policy"])["Statement"]
    assert [s["Effect"] for s in statements] == ["Deny", "Allow"]
