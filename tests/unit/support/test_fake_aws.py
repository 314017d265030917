"""The fake AWS of the benchmarks, driven by real boto3 clients: every action awsbroker makes
parses, answers consistently, and fails as AWS does."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.support.fake_aws import ACCOUNT, ADMIN_USER, FakeAWS

REPO = Path(__file__).resolve().parents[3]
KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAWS]:
    with FakeAWS(latency=0) as aws:
        yield aws


@pytest.fixture
def aws(fake: FakeAWS) -> FakeAWS:
    fake.reset()
    return fake


def client(aws: FakeAWS, service: str, key: tuple[str, str] = KEY) -> Any:
    return boto3.client(
        service,
        endpoint_url=aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1}),
    )


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def test_an_iam_user_as_the_engine_makes_and_removes_one(aws: FakeAWS) -> None:
    iam = client(aws, "iam")
    user = iam.create_user(
        UserName="u1",
        Path="/team/",
        PermissionsBoundary="arn:aws:iam::aws:policy/Boundary",
        Tags=[{"Key": "k", "Value": "v"}],
    )["User"]
    assert user["UserName"] == "u1"
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/u1"
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("/Boundary")
    assert user["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.put_user_policy(UserName="u1", PolicyName="inline", PolicyDocument=POLICY)
    iam.attach_user_policy(UserName="u1", PolicyArn="arn:aws:iam::aws:policy/ReadOnly")
    iam.add_user_to_group(UserName="u1", GroupName="devs")
    key = iam.create_access_key(UserName="u1")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert len(key["AccessKeyId"]) == 20
    assert key["SecretAccessKey"]
    assert key["Status"] == "Active"
    assert iam.get_user(UserName="u1")["User"]["UserId"] == user["UserId"]

    # Revocation, call for call as `iam_user.delete_user` makes it.
    groups = iam.list_groups_for_user(UserName="u1", MaxItems=1000)["Groups"]
    assert [g["GroupName"] for g in groups] == ["devs"]
    inline = iam.list_user_policies(UserName="u1", MaxItems=1000)["PolicyNames"]
    assert inline == ["inline"]
    attached = iam.list_attached_user_policies(UserName="u1", MaxItems=1000)["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnly", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnly"}]
    keys = iam.list_access_keys(UserName="u1", MaxItems=1000)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    with pytest.raises(ClientError) as conflict:
        iam.delete_user(UserName="u1")
    assert code_of(conflict) == ("DeleteConflict", 409)
    iam.delete_access_key(UserName="u1", AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName="u1", PolicyArn="arn:aws:iam::aws:policy/ReadOnly")
    iam.delete_user_policy(UserName="u1", PolicyName="inline")
    iam.remove_user_from_group(UserName="u1", GroupName="devs")
    with pytest.raises(ClientError) as no_profile:
        iam.delete_login_profile(UserName="u1")
    assert code_of(no_profile) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError):
        iam.get_login_profile(UserName="u1")
    assert iam.list_mfa_devices(UserName="u1")["MFADevices"] == []
    assert iam.list_signing_certificates(UserName="u1")["Certificates"] == []
    assert iam.list_ssh_public_keys(UserName="u1")["SSHPublicKeys"] == []
    found = iam.list_service_specific_credentials(UserName="u1")
    assert found["ServiceSpecificCredentials"] == []
    iam.delete_user(UserName="u1")
    with pytest.raises(ClientError) as gone:
        iam.list_groups_for_user(UserName="u1")
    assert code_of(gone) == ("NoSuchEntity", 404)


def test_errors_are_aws_errors(aws: FakeAWS) -> None:
    iam = client(aws, "iam")
    iam.create_user(UserName="u")
    with pytest.raises(ClientError) as exists:
        iam.create_user(UserName="u")
    assert code_of(exists) == ("EntityAlreadyExists", 409)
    iam.create_access_key(UserName="u")
    iam.create_access_key(UserName="u")
    with pytest.raises(ClientError) as limit:
        iam.create_access_key(UserName="u")
    assert code_of(limit) == ("LimitExceeded", 409)
    for call in (
        lambda: iam.put_user_policy(UserName="nobody", PolicyName="p", PolicyDocument=POLICY),
        lambda: iam.delete_access_key(UserName="u", AccessKeyId="AKIANOTAKEY000000000"),
        lambda: iam.delete_user_policy(UserName="u", PolicyName="none"),
        lambda: iam.detach_user_policy(UserName="u", PolicyArn="arn:aws:iam::aws:policy/X"),
        lambda: iam.remove_user_from_group(UserName="u", GroupName="none"),
        lambda: iam.get_user(UserName="nobody"),
    ):
        with pytest.raises(ClientError) as missing:
            call()
        assert code_of(missing) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as unknown:
        iam.list_roles()
    assert code_of(unknown) == ("InvalidAction", 400)


def test_groups_exist_and_have_no_policies(aws: FakeAWS) -> None:
    iam = client(aws, "iam")
    assert iam.list_attached_group_policies(GroupName="g")["AttachedPolicies"] == []
    assert iam.list_group_policies(GroupName="g")["PolicyNames"] == []
    with pytest.raises(ClientError):
        iam.get_group_policy(GroupName="g", PolicyName="p")


def test_sts_credentials(aws: FakeAWS) -> None:
    sts = client(aws, "sts")
    before = time.time()
    assumed = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deploy",
        RoleSessionName="session-1",
        DurationSeconds=900,
        Policy=POLICY,
        Tags=[{"Key": "team", "Value": "a"}],
        ExternalId="external-id",
    )
    creds = assumed["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"]
    assert abs(creds["Expiration"].timestamp() - (before + 900)) < 5
    assert assumed["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/session-1"
    )
    federated = sts.get_federation_token(Name="fed-user", DurationSeconds=3600, Policy=POLICY)
    assert federated["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/fed-user"
    assert federated["Credentials"]["SecretAccessKey"]
    session = sts.get_session_token(DurationSeconds=1800)["Credentials"]
    assert abs(session["Expiration"].timestamp() - (before + 1800)) < 5


def test_the_caller_is_the_owner_of_the_signing_key(aws: FakeAWS) -> None:
    iam, sts = client(aws, "iam"), client(aws, "sts")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{ADMIN_USER}"
    assert iam.get_user()["User"]["UserName"] == ADMIN_USER
    iam.create_user(UserName="rotated")
    key = iam.create_access_key(UserName="rotated")["AccessKey"]
    own = (key["AccessKeyId"], key["SecretAccessKey"])
    identity = client(aws, "sts", own).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/rotated"
    assert identity["Account"] == ACCOUNT
    assert client(aws, "iam", own).get_user()["User"]["UserName"] == "rotated"


def test_calls_are_counted_and_reset_forgets_users(aws: FakeAWS) -> None:
    iam = client(aws, "iam")
    calls = aws.calls
    iam.create_user(UserName="counted")
    with pytest.raises(ClientError):
        iam.create_user(UserName="counted")
    assert aws.calls == calls + 2
    assert aws.calls_by_action["CreateUser"] >= 2
    aws.reset()
    iam.create_user(UserName="counted")  # gone with the reset


def test_answers_wait_for_the_latency() -> None:
    with FakeAWS(latency=0.05) as slow:
        sts = client(slow, "sts")
        started = time.monotonic()
        sts.get_caller_identity()
        assert time.monotonic() - started >= 0.05


def test_a_process_of_its_own() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_aws", "--latency", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
    ) as proc:
        try:
            assert proc.stdout is not None
            endpoint = proc.stdout.readline().decode().strip()
            assert endpoint.startswith("http://127.0.0.1:")
            sts = boto3.client(
                "sts",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=KEY[0],
                aws_secret_access_key=KEY[1],
            )
            sts.get_caller_identity()
            sts.close()
            host, port = endpoint.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request("GET", "/fake-aws/calls")
            counts = json.loads(conn.getresponse().read())
            assert counts == {"calls": 1, "by_action": {"GetCallerIdentity": 1}}
            conn.request("POST", "/fake-aws/reset")
            assert conn.getresponse().read() == b"{}"
            conn.close()
        finally:
            proc.terminate()
        assert proc.wait(timeout=10) == 0
