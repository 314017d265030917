"""The light STS path (transport/light_sts.py) against boto3 for the same inputs: the request it
sends (body and Authorization byte for byte), its parser against recorded STS answers and
botocore's parser, its retries and errors against a scripted endpoint, moto over HTTP, and
the configurations it leaves to boto3."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import botocore.httpsession
import pytest
from tests.support.light_query import boto_request, botocore_parse, scripted_endpoint
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.telemetry import RecordingTelemetry

from awsbroker.engines.aws.transport.boto import build_sts
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.engines.aws.transport.light_sts import LightSTS, NotRecognised, parse_success
from awsbroker.sdk.telemetry import AWS_CALLS, NullTelemetry

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
ROLE = "arn:aws:iam::123456789012:role/demo"
NS = "https://sts.amazonaws.com/doc/2011-06-15/"

# Answers as AWS's STS API reference records them (request ids and keys are its examples).
ASSUME_ROLE = f"""<AssumeRoleResponse xmlns="{NS}">
<AssumeRoleResult>
<SourceIdentity>Alice</SourceIdentity>
<AssumedRoleUser>
  <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
  <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
</AssumedRoleUser>
<Credentials>
  <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
  <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW</SessionToken>
  <Expiration>2019-11-09T13:34:41Z</Expiration>
</Credentials>
<PackedPolicySize>6</PackedPolicySize>
</AssumeRoleResult>
<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>"""
FEDERATION_TOKEN = f"""<GetFederationTokenResponse xmlns="{NS}">
<GetFederationTokenResult>
<Credentials>
  <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW</SessionToken>
  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
  <Expiration>2019-10-02T03:33:12.123Z</Expiration>
  <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
</Credentials>
<FederatedUser>
  <Arn>arn:aws:sts::123456789012:federated-user/Bob</Arn>
  <FederatedUserId>123456789012:Bob</FederatedUserId>
</FederatedUser>
<PackedPolicySize>6</PackedPolicySize>
</GetFederationTokenResult>
<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</GetFederationTokenResponse>"""
SESSION_TOKEN = f"""<GetSessionTokenResponse xmlns="{NS}">
<GetSessionTokenResult>
<Credentials>
  <SessionToken>AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT</SessionToken>
  <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
  <Expiration>2011-07-11T19:55:29.611Z</Expiration>
  <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
</Credentials>
</GetSessionTokenResult>
<ResponseMetadata><RequestId>58c5dbae-abef-11e0-8cfe-09039844ac7d</RequestId></ResponseMetadata>
</GetSessionTokenResponse>"""
ERROR = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
<RequestId>e3c7e8a8-7b5b-4c5e-9f6f-2a9b5d1c0a11</RequestId>
</ErrorResponse>"""


def spec(endpoint: str | None, max_retries: int = -1, region: str = "us-east-1") -> ClientSpec:
    return ClientSpec("sts", region, endpoint, KEY[0], KEY[1], max_retries)


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("AssumeRole", ASSUME_ROLE),
        ("GetFederationToken", FEDERATION_TOKEN),
        ("GetSessionToken", SESSION_TOKEN),
    ],
)
def test_the_parser_reads_what_botocore_reads(operation: str, answer: str) -> None:
    client: Any = build_sts(spec("http://127.0.0.1:1"), NullTelemetry())
    assert parse_success(operation, answer.encode()) == botocore_parse(client, operation, answer)
    client.close()


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not xml",
        ASSUME_ROLE.replace("PackedPolicySize", "Surprise").encode(),
        ASSUME_ROLE.replace("2019-11-09T13:34:41Z", "2019-11-09T13:34:41+01:00").encode(),
        ASSUME_ROLE.replace("<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>", "").encode(),
        FEDERATION_TOKEN.encode(),  # another operation's answer
    ],
)
def test_the_parser_refuses_what_it_does_not_know(body: bytes) -> None:
    with pytest.raises(NotRecognised):
        parse_success("AssumeRole", body)


METHODS = {
    "AssumeRole": "assume_role",
    "GetFederationToken": "get_federation_token",
    "GetSessionToken": "get_session_token",
}


REQUESTS = [
    (
        "AssumeRole",
        {
            "RoleArn": ROLE,
            "RoleSessionName": "vault-root-demo-1733360000-1234",
            "DurationSeconds": 3600,
            "Policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}',
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "Tags": [{"Key": "team", "Value": "a b&c=d/é"}],
            "SourceIdentity": "alice",
            "ExternalId": "ext-id-1",
        },
    ),
    ("GetFederationToken", {"Name": "bob", "DurationSeconds": 900, "Policy": "{}"}),
    (
        "GetSessionToken",
        {"DurationSeconds": 900, "SerialNumber": "arn:aws:iam::1:mfa/u", "TokenCode": "123456"},
    ),
]


@pytest.mark.parametrize(("operation", "params"), REQUESTS)
@pytest.mark.parametrize(
    ("endpoint", "token"),
    [("http://127.0.0.1:4566", ""), (None, "FwoGZXIvYXdzEXAMPLETOKEN"), ("https://h:443", "")],
)
def test_the_request_is_botocores_byte_for_byte(
    operation: str, params: dict[str, Any], endpoint: str | None, token: str
) -> None:
    """Same body (Action, Version, every parameter, in order), same signed headers, same
    credential scope, same signature for the same time."""
    client_spec = ClientSpec("sts", "eu-west-1", endpoint, KEY[0], KEY[1], session_token=token)
    light = LightSTS(build_sts(client_spec, NullTelemetry()), NullTelemetry())
    ours_body, _ = light.request(operation, params)
    theirs = boto_request(build_sts(client_spec, NullTelemetry()), METHODS[operation], params)
    body = theirs.body
    assert ours_body == (body.encode() if isinstance(body, str) else body)
    assert ours_body.startswith(f"Action={operation}&Version=2011-06-15".encode())
    stamp = theirs.headers["X-Amz-Date"].decode()
    now = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    plan, signer = light._plan, light._signer
    assert plan is not None
    assert signer is not None
    headers = signer.headers(
        plan.host_header, ours_body, access_key=KEY[0], secret=KEY[1], token=token or None,
        now=now,
    )  # fmt: skip
    assert headers["Authorization"] == theirs.headers["Authorization"].decode()
    assert headers["Content-Type"] == theirs.headers["Content-Type"].decode()
    if token:
        assert headers["X-Amz-Security-Token"] == theirs.headers["X-Amz-Security-Token"].decode()
    assert plan.url.rstrip("/") == theirs.url.rstrip("/")
    light.close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    with scripted_endpoint() as server:
        yield server


def _outcome(client: Any, server: Any) -> tuple[str, str, int]:
    server.requests = 0
    try:
        client.assume_role(RoleArn=ROLE, RoleSessionName="session", DurationSeconds=900)
    except botocore.exceptions.ClientError as exc:
        return type(exc).__name__, exc.response["Error"]["Code"], server.requests
    return "ok", "", server.requests


THROTTLED = ERROR.format(code="Throttling", message="Rate exceeded").encode()
DENIED = ERROR.format(code="AccessDenied", message="not authorized").encode()
EXPIRED = ERROR.format(code="ExpiredTokenException", message="expired").encode()


@pytest.mark.parametrize(
    "script",
    [
        [(200, ASSUME_ROLE.encode())],
        [(400, THROTTLED), (400, THROTTLED), (200, ASSUME_ROLE.encode())],
        [(400, THROTTLED)],  # retried until the attempts run out, then raised
        [(503, b"<html>busy</html>")],
        [(500, b""), (200, ASSUME_ROLE.encode())],
        [(403, DENIED)],  # not retried
        [(400, EXPIRED)],  # a modeled error: the client's own exception class
    ],
)
@pytest.mark.parametrize("max_retries", [-1, 2])
def test_retries_and_errors_are_boto3s(
    scripted: Any, script: list[tuple[int, bytes]], max_retries: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the backoff, not its length
    scripted.script = script
    endpoint = scripted.endpoint
    telemetry = RecordingTelemetry()
    light = LightSTS(build_sts(spec(endpoint, max_retries), NullTelemetry()), telemetry)
    assert light.light
    boto = build_sts(spec(endpoint, max_retries), NullTelemetry())
    ours, theirs = _outcome(light, scripted), _outcome(boto, scripted)
    assert ours == theirs
    assert telemetry.counts == [
        (AWS_CALLS, {"service": "sts", "operation": "AssumeRole", "error_code": ours[1]})
    ]
    light.close()
    boto.close()


def test_a_refused_connection_is_botocores_error_after_its_retries(monkeypatch: Any) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    light = LightSTS(build_sts(spec("http://127.0.0.1:1", 1), NullTelemetry()), NullTelemetry())
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        light.assume_role(RoleArn=ROLE, RoleSessionName="session", DurationSeconds=900)


def test_invalid_parameters_are_refused_before_sending() -> None:
    light = LightSTS(build_sts(spec("http://127.0.0.1:1"), NullTelemetry()), NullTelemetry())
    with pytest.raises(botocore.exceptions.ParamValidationError):
        light.assume_role(RoleArn=ROLE, RoleSessionName="s", DurationSeconds=10)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.disable_auth()
        yield server


def test_the_three_calls_against_moto_match_boto3s_answers(moto: MotoServer) -> None:
    light = LightSTS(build_sts(spec(moto.endpoint), NullTelemetry()), NullTelemetry())
    boto = build_sts(spec(moto.endpoint), NullTelemetry())
    for client in (light, boto):
        role: Any = client.assume_role(
            RoleArn=ROLE, RoleSessionName="session", DurationSeconds=900, Policy="{}"
        )
        assert (
            role["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/demo/session"
        )
        assert set(role) == {
            "Credentials",
            "AssumedRoleUser",
            "PackedPolicySize",
            "ResponseMetadata",
        }
        federation: Any = client.get_federation_token(Name="bob", Policy="{}")
        assert federation["FederatedUser"]["FederatedUserId"] == "123456789012:bob"
        session: Any = client.get_session_token(DurationSeconds=900)
        assert set(session["Credentials"]) == {
            "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"
        }  # fmt: skip
        assert session["Credentials"]["Expiration"] > datetime.datetime.now(datetime.UTC)
    light.close()
    boto.close()


def test_signatures_are_checked_by_moto_with_auth_on(moto: MotoServer) -> None:
    """moto recomputes each signature with the caller's secret key: ours is accepted, and a
    wrong secret is refused with AWS's error."""
    moto.reset()
    key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    try:
        good = LightSTS(build_sts(spec_with(moto.endpoint, *key), NullTelemetry()), NullTelemetry())
        assert good.light
        good.get_session_token(DurationSeconds=900)
        bad = LightSTS(
            build_sts(spec_with(moto.endpoint, key[0], key[1] + "x"), NullTelemetry()),
            NullTelemetry(),
        )
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            bad.get_session_token(DurationSeconds=900)
        assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        good.close()
        bad.close()
    finally:
        moto.disable_auth()


def spec_with(endpoint: str, access_key: str, secret_key: str) -> ClientSpec:
    return ClientSpec("sts", "us-east-1", endpoint, access_key, secret_key, 0)


@pytest.mark.parametrize(
    ("env", "endpoint", "light"),
    [
        ({}, None, True),
        ({"HTTPS_PROXY": "http://proxy.invalid:3128"}, None, False),
        ({"HTTPS_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "amazonaws.com"}, None, True),
        ({"HTTP_PROXY": "http://proxy.invalid:3128"}, "http://127.0.0.1:4566", False),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, None, True),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None, True),
        ({}, "https://sts.example.com/prefix", False),
    ],
)
def test_what_the_light_path_leaves_to_boto3(
    env: dict[str, str], endpoint: str | None, light: bool, monkeypatch: Any
) -> None:
    """A proxy for the endpoint or an endpoint with a path: the whole call is boto3's. FIPS and
    dual-stack: botocore's endpoint rules resolve the URL the light path uses."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client: Any = build_sts(spec(endpoint, region="eu-west-1"), NullTelemetry())
    sts = LightSTS(client, NullTelemetry())
    assert sts.light is light
    if light:
        assert sts._plan is not None
        request = boto_request(
            build_sts(spec(endpoint, region="eu-west-1"), NullTelemetry()),
            "get_session_token",
            {"DurationSeconds": 900},
        )
        assert sts._plan.url.rstrip("/") == request.url.rstrip("/")
    sts.close()


def test_the_ca_bundle_is_botocores(monkeypatch: Any, tmp_path: Any) -> None:
    """AWS_CA_BUNDLE: the light path verifies with the same file; one that cannot be read
    leaves the calls to boto3 (which reports it)."""
    bundle = botocore.httpsession.get_cert_path(True)
    monkeypatch.setenv("AWS_CA_BUNDLE", bundle)
    sts = LightSTS(build_sts(spec("https://sts.example.com"), NullTelemetry()), NullTelemetry())
    assert sts._plan is not None
    assert sts._plan.cafile == bundle
    sts.close()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    sts = LightSTS(build_sts(spec("https://sts.example.com"), NullTelemetry()), NullTelemetry())
    assert not sts.light
    sts.close()
