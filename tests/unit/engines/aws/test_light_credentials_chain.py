"""The light path signs with the broker's default credential chain when `config/root` has no
key (issue 18 keeps the chain: instance profile, ECS task role, web identity, with refresh).

An in-process engine whose `config/root` names endpoints but no key issues `assumed_role`
credentials through the light STS client (light_sts.py), against moto with its signature and
policy checks on, behind the recording proxy (which keeps each request's `Authorization`):

* the container provider (what an ECS task role or EKS Pod Identity is to botocore):
  `AWS_CONTAINER_CREDENTIALS_FULL_URI` names a loopback stand-in that serves real moto
  sessions (AssumeRole of a task role: an `ASIA` key and its token, as the ECS endpoint
  serves; moto refuses an IAM user's key sent with a token, and botocore's container provider
  requires one) with an `Expiration` five minutes away, inside botocore's mandatory refresh
  window (ten minutes), so the credentials are fetched again before every signature. The
  stand-in switches to a session of a second task role and the first role loses its policy
  in moto: the next AssumeRole is signed with the new session (its `Credential=` and token
  name it, and moto accepts it, as it would refuse the old one);
* web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`, with `AWS_ENDPOINT_URL_STS`
  sending botocore's AssumeRoleWithWebIdentity to moto (through the proxy). That call is
  unsigned, which moto's checks would refuse as any unsigned request, so moto lets exactly one
  call through unchecked (`enable_auth(1)`): the AssumeRoleWithWebIdentity. The AssumeRole
  after it is signed with the session it answered (an `ASIA` key and its token), which moto
  checks against the role's policy.

Instance profiles use the same refreshable credentials as the container provider, from
IMDS; the tests leave IMDS off (`AWS_EC2_METADATA_DISABLED`) so nothing reaches for it.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.json_server import JsonServer
from tests.support.moto_server import OPEN_TRUST, MotoServer, bootstrap_admin, moto_client
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.transport.light_sts import LightSTS
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request

REGION = "us-east-1"
ROLE_NAME = "chain-target"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
# Every variable botocore's default chain reads before the provider under test.
_CHAIN_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


@pytest.fixture
def chain_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No key in the environment or in any file: only the provider a test sets up answers."""
    for name in _CHAIN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def aws(moto: MotoServer, proxy: AWSProxy) -> Iterator[dict[str, Any]]:
    """The role the broker's `assumed_role` credentials assume, and two task roles with a
    session each (what the stand-in serves), all anyone may assume and allowed everything;
    moto's checks are left off for the test to set."""
    moto.disable_auth()
    moto.reset()
    admin = bootstrap_admin(moto.endpoint, "chain-admin")
    iam = moto_client(moto.endpoint, "iam", *admin)
    sts = moto_client(moto.endpoint, "sts", *admin)
    arns = {}
    for name in (ROLE_NAME, "task-one", "task-two"):
        arns[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=OPEN_TRUST)["Role"]
        iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    sessions = {}
    for name in ("task-one", "task-two"):
        creds = sts.assume_role(RoleArn=arns[name]["Arn"], RoleSessionName="task")["Credentials"]
        sessions[name] = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    sts.close()
    proxy.clear()
    yield {"iam": iam, "role_arn": arns[ROLE_NAME]["Arn"], **sessions}
    iam.close()
    moto.disable_auth()


def keyless_engine(proxy: AWSProxy, role_arn: str) -> AWSBackend:
    """An engine whose config/root names the endpoints (the proxy) and no key."""
    backend = AWSBackend(
        BackendConfig(storage=InmemStorage(), system=FakeSystemView(), mount_path="aws/")
    )
    ok(backend, Operation.UPDATE, "config/root", region=REGION, max_retries=0,
       iam_endpoint=proxy.endpoint, sts_endpoint=proxy.endpoint)  # fmt: skip
    ok(backend, Operation.UPDATE, "roles/r", credential_type="assumed_role", role_arns=[role_arn])
    return backend


def ok(backend: AWSBackend, op: Operation, path: str, /, **data: JSONValue) -> JSONObject:
    response = backend.handle_request(Request(operation=op, path=path, data=dict(data)))
    return {} if response is None or response.data is None else response.data


def issue(backend: AWSBackend) -> JSONObject:
    creds = ok(backend, Operation.READ, "creds/r")
    assert str(creds["access_key"]).startswith("ASIA")
    return creds


def signer(call: Call) -> str:
    """The access key ID in the request's SigV4 `Credential=` scope."""
    return call.headers["authorization"].partition("Credential=")[2].partition("/")[0]


def container_document(session: tuple[str, str, str]) -> JSONObject:
    """The container endpoint's answer, expiring within botocore's mandatory refresh window."""
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    return {
        "AccessKeyId": session[0],
        "SecretAccessKey": session[1],
        "Token": session[2],
        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_container_credentials_are_refreshed_and_sign_the_light_assume_role(
    chain_env: pytest.MonkeyPatch, aws: dict[str, Any], moto: MotoServer, proxy: AWSProxy
) -> None:
    one, two = aws["task-one"], aws["task-two"]
    with JsonServer() as stand_in:
        stand_in.documents["/creds"] = container_document(one)
        chain_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{stand_in.url}/creds")
        moto.enable_auth()
        backend = keyless_engine(proxy, aws["role_arn"])

        issue(backend)
        sts = backend.clients.sts()
        assert isinstance(sts, LightSTS)
        assert sts.light  # the light path signed it, not boto3
        first_call = proxy.calls("AssumeRole")[-1]
        assert signer(first_call) == one[0]
        assert first_call.headers["x-amz-security-token"] == one[2]
        fetched = stand_in.hits["/creds"]
        assert fetched >= 2  # built the client, then refreshed before signing

        # The task's credentials change; the old session may no longer do anything.
        stand_in.documents["/creds"] = container_document(two)
        aws["iam"].delete_role_policy(RoleName="task-one", PolicyName="all")
        old = moto_client(moto.endpoint, "sts", *one)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            old.assume_role(RoleArn=aws["role_arn"], RoleSessionName="old")
        old.close()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"

        issue(backend)
        assert backend.clients.sts() is sts  # the same client: its credentials refreshed
        second_call = proxy.calls("AssumeRole")[-1]
        assert signer(second_call) == two[0]
        assert second_call.headers["x-amz-security-token"] == two[2]
        assert second_call.status == 200
        assert stand_in.hits["/creds"] > fetched


def test_web_identity_signs_the_light_assume_role(
    chain_env: pytest.MonkeyPatch,
    aws: dict[str, Any],
    moto: MotoServer,
    proxy: AWSProxy,
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "web-identity-token"
    token_file.write_text("a-projected-service-account-token")
    chain_env.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    chain_env.setenv("AWS_ROLE_ARN", aws["role_arn"])
    chain_env.setenv("AWS_ROLE_SESSION_NAME", "broker-pod")
    chain_env.setenv("AWS_ENDPOINT_URL_STS", proxy.endpoint)
    backend = keyless_engine(proxy, aws["role_arn"])
    moto.enable_auth(1)  # the one unsigned call: AssumeRoleWithWebIdentity

    issue(backend)
    issue(backend)

    exchanges = proxy.calls("AssumeRoleWithWebIdentity")
    assert len(exchanges) == 1  # an hour's session: no refresh between the two
    assert exchanges[0].param("WebIdentityToken") == "a-projected-service-account-token"
    assert exchanges[0].param("RoleArn") == aws["role_arn"]
    assert exchanges[0].param("RoleSessionName") == "broker-pod"
    sts = backend.clients.sts()
    assert isinstance(sts, LightSTS)
    assert sts.light
    calls = proxy.calls("AssumeRole")
    assert len(calls) == 2
    for call in calls:
        assert call.status == 200  # moto checked the signature and the role's policy
        assert signer(call).startswith("ASIA")
        assert call.headers["x-amz-security-token"]
