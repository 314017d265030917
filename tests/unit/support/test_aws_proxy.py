"""The moto server helper and the recording proxy, driven by real boto3 clients over loopback."""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import REGION, MotoServer, bootstrap_admin

DUMMY_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
MADE_UP_KEY = ("AKIAMADEUPMADEUP0000", "not-a-secret-anyone-knows")
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "*"}
    ],
}

ClientFactory = Callable[..., Any]


@pytest.fixture(autouse=True)
def _no_real_aws_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_module() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(moto_module: MotoServer) -> Iterator[MotoServer]:
    """The module's moto server, empty and with auth off, for one test."""
    moto_module.reset()
    moto_module.disable_auth()
    yield moto_module
    moto_module.disable_auth()


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[AWSProxy]:
    with AWSProxy(moto.endpoint) as p:
        yield p


@pytest.fixture
def client() -> Iterator[ClientFactory]:
    """`client(service, endpoint, key=DUMMY_KEY, attempts=1)`; closed after the test."""
    made: list[Any] = []

    def make(
        service: str, endpoint: str, key: tuple[str, str] = DUMMY_KEY, attempts: int = 1
    ) -> Any:
        c = boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            # `total_max_attempts` counts the first try; `max_attempts` here would count retries.
            config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
        )
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --- moto server and auth ---------------------------------------------------------------


def test_auth_on_accepts_the_bootstrapped_admin_and_rejects_other_keys(
    moto: MotoServer, client: ClientFactory
) -> None:
    admin = bootstrap_admin(moto.endpoint)
    moto.enable_auth()

    arn = client("sts", moto.endpoint, admin).get_caller_identity()["Arn"]
    assert arn == "arn:aws:iam::123456789012:user/awsbroker-test-admin"
    with pytest.raises(ClientError) as unknown:
        client("sts", moto.endpoint, MADE_UP_KEY).get_caller_identity()
    assert error_code(unknown) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as wrong_secret:
        client("sts", moto.endpoint, (admin[0], "wrong")).get_caller_identity()
    assert error_code(wrong_secret) == "SignatureDoesNotMatch"


def test_initial_no_auth_count_lets_that_many_calls_through(
    moto: MotoServer, client: ClientFactory
) -> None:
    moto.enable_auth(initial_no_auth_action_count=3)
    admin = bootstrap_admin(moto.endpoint)  # exactly three IAM calls

    with pytest.raises(ClientError) as exc:
        client("iam", moto.endpoint).list_users()
    assert error_code(exc) == "InvalidClientTokenId"
    users = client("iam", moto.endpoint, admin).list_users()["Users"]
    assert [u["UserName"] for u in users] == ["awsbroker-test-admin"]


def test_reset_wipes_state(moto: MotoServer, client: ClientFactory) -> None:
    iam = client("iam", moto.endpoint)
    iam.create_user(UserName="u")
    moto.reset()
    assert iam.list_users()["Users"] == []


def test_moto_checks_the_signature_against_the_host_header_it_receives(moto: MotoServer) -> None:
    """Why the proxy must forward Host untouched: moto recomputes SigV4 over it."""
    admin = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    port = int(moto.endpoint.rsplit(":", 1)[1])
    body = "Action=GetCallerIdentity&Version=2011-06-15"

    def status(signed_for: str, sent_host: str) -> int:
        request = AWSRequest(
            method="POST",
            url=f"http://{signed_for}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(Credentials(*admin), "sts", REGION).add_auth(request)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", sent_host)
            for name, value in request.headers.items():
                if name.lower() != "host":
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body.encode())
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    elsewhere = "127.0.0.1:1"
    assert status(signed_for=elsewhere, sent_host=elsewhere) == 200
    assert status(signed_for=elsewhere, sent_host=f"127.0.0.1:{port}") == 403


# --- recording --------------------------------------------------------------------------


def test_create_user_is_recorded_with_parameters_moto_ignores(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    client("iam", proxy.endpoint).create_user(
        UserName="vault-alice",
        Path="/awsbroker/",
        PermissionsBoundary=boundary,
        Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "test"}],
    )

    [call] = proxy.calls("CreateUser")
    assert (call.service, call.action, call.status, call.injected) == (
        "iam",
        "CreateUser",
        200,
        False,
    )
    assert call.params == {
        "Action": ["CreateUser"],
        "Version": ["2010-05-08"],
        "UserName": ["vault-alice"],
        "Path": ["/awsbroker/"],
        "PermissionsBoundary": [boundary],
        "Tags.member.1.Key": ["team"],
        "Tags.member.1.Value": ["blue"],
        "Tags.member.2.Key": ["env"],
        "Tags.member.2.Value": ["test"],
    }
    assert call.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7")
    assert call.headers["host"] == proxy.endpoint.removeprefix("http://")


def test_sts_calls_are_recorded_with_their_parameters(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    role = client("iam", proxy.endpoint).create_role(
        RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )["Role"]
    sts = client("sts", proxy.endpoint)
    session_policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    sts.assume_role(
        RoleArn=role["Arn"],
        RoleSessionName="s1",
        ExternalId="ext-123",
        Policy=session_policy,
        Tags=[{"Key": "k", "Value": "v"}],
        DurationSeconds=900,
    )
    sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/u", TokenCode="123456")

    [assume] = proxy.calls("AssumeRole")
    assert assume.service == "sts"
    assert assume.param("RoleArn") == role["Arn"]
    assert assume.param("ExternalId") == "ext-123"
    assert assume.param("Policy") == session_policy
    assert (assume.param("Tags.member.1.Key"), assume.param("Tags.member.1.Value")) == ("k", "v")
    assert assume.param("DurationSeconds") == "900"
    [session] = proxy.calls("GetSessionToken")
    assert session.param("SerialNumber") == "arn:aws:iam::123456789012:mfa/u"
    assert session.param("TokenCode") == "123456"
    assert [c.action for c in proxy.calls()] == ["CreateRole", "AssumeRole", "GetSessionToken"]


def test_unsigned_sts_call_gets_its_service_from_the_action(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    client("sts", proxy.endpoint).assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/r",
        RoleSessionName="s1",
        WebIdentityToken="token",
    )
    [call] = proxy.calls()
    assert "authorization" not in call.headers
    assert (call.service, call.action) == ("sts", "AssumeRoleWithWebIdentity")


def test_clear_forgets_calls(proxy: AWSProxy, client: ClientFactory) -> None:
    client("iam", proxy.endpoint).list_users()
    assert len(proxy.calls()) == 1
    proxy.clear()
    assert proxy.calls() == []


# --- fault injection --------------------------------------------------------------------


def test_throttling_is_retried_then_surfaces_as_client_error(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    proxy.inject("CreateUser", 400, "Throttling", "Rate exceeded")

    with pytest.raises(ClientError) as exc:
        client("iam", proxy.endpoint, attempts=2).create_user(UserName="u")

    assert error_code(exc) == "Throttling"
    assert exc.value.response["Error"]["Message"] == "Rate exceeded"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    calls = proxy.calls("CreateUser")
    assert [(c.status, c.injected) for c in calls] == [(400, True), (400, True)]
    assert client("iam", proxy.endpoint).list_users()["Users"] == []  # never reached moto


def test_non_throttling_400_is_not_retried(proxy: AWSProxy, client: ClientFactory) -> None:
    proxy.inject("CreateUser", 400, "ValidationError", "bad")
    with pytest.raises(ClientError) as exc:
        client("iam", proxy.endpoint, attempts=3).create_user(UserName="u")
    assert error_code(exc) == "ValidationError"
    assert len(proxy.calls("CreateUser")) == 1


def test_internal_failure_500_is_retried_then_surfaces(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    proxy.inject(None, 500, "InternalFailure", "oops")
    with pytest.raises(ClientError) as exc:
        client("sts", proxy.endpoint, attempts=3).get_caller_identity()
    assert error_code(exc) == "InternalFailure"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert [c.status for c in proxy.calls("GetCallerIdentity")] == [500, 500, 500]


def test_times_one_faults_once_so_a_retrying_client_succeeds(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    proxy.inject("CreateUser", 400, "Throttling", "Rate exceeded", times=1)
    iam = client("iam", proxy.endpoint, attempts=2)

    response = iam.create_user(UserName="u")

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [(c.status, c.injected) for c in proxy.calls("CreateUser")] == [
        (400, True),
        (200, False),
    ]
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["u"]


def test_faults_match_only_their_action_and_can_be_cleared(
    proxy: AWSProxy, client: ClientFactory
) -> None:
    iam = client("iam", proxy.endpoint)
    proxy.inject("CreateUser", 500, "InternalFailure", "oops")
    iam.list_users()
    with pytest.raises(ClientError):
        iam.create_user(UserName="u")
    proxy.clear_faults()
    iam.create_user(UserName="u")
    assert [(c.action, c.status) for c in proxy.calls()] == [
        ("ListUsers", 200),
        ("CreateUser", 500),
        ("CreateUser", 200),
    ]


def test_probability_with_a_seed_is_reproducible(proxy: AWSProxy, client: ClientFactory) -> None:
    sts = client("sts", proxy.endpoint)

    def pattern() -> list[int]:
        proxy.clear()
        proxy.clear_faults()
        proxy.inject(
            "GetCallerIdentity", 503, "ServiceUnavailable", "busy", probability=0.5, seed=7
        )
        for _ in range(20):
            with contextlib.suppress(ClientError):
                sts.get_caller_identity()
        return [c.status for c in proxy.calls()]

    first = pattern()
    assert first == pattern()
    assert set(first) == {200, 503}


def test_latency_delays_each_call(proxy: AWSProxy, client: ClientFactory) -> None:
    sts = client("sts", proxy.endpoint)
    proxy.latency = 0.2
    started = time.monotonic()
    sts.get_caller_identity()
    assert time.monotonic() - started >= 0.2


# --- signatures through the proxy -------------------------------------------------------


def test_signed_calls_through_the_proxy_validate_with_auth_on(
    moto: MotoServer, proxy: AWSProxy, client: ClientFactory
) -> None:
    admin = bootstrap_admin(moto.endpoint)
    moto.enable_auth()

    iam = client("iam", proxy.endpoint, admin)
    iam.create_user(UserName="through-proxy", Tags=[{"Key": "k", "Value": "v"}])
    arn = client("sts", proxy.endpoint, admin).get_caller_identity()["Arn"]
    assert arn.endswith(":user/awsbroker-test-admin")
    with pytest.raises(ClientError) as unknown:
        client("iam", proxy.endpoint, MADE_UP_KEY).list_users()
    assert error_code(unknown) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as wrong_secret:
        client("iam", proxy.endpoint, (admin[0], "wrong")).list_users()
    assert error_code(wrong_secret) == "SignatureDoesNotMatch"

    assert [(c.action, c.status) for c in proxy.calls()] == [
        ("CreateUser", 200),
        ("GetCallerIdentity", 200),
        ("ListUsers", 403),
        ("ListUsers", 403),
    ]
