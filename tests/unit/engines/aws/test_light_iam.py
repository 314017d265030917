"""The light IAM path (transport/light_iam.py) against boto3 for the same inputs: the request it
sends (body and Authorization byte for byte, IAM's global endpoint and signing region as botocore
resolves them), its parser against IAM's documented answers and botocore's parser, its retries
and errors against a scripted endpoint, moto over HTTP with signature checking, and the
configurations it leaves to boto3."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from tests.support.light_query import boto_request, botocore_parse, scripted_endpoint
from tests.support.moto_server import MotoServer, bootstrap_admin, moto_client
from tests.support.telemetry import RecordingTelemetry

from awsbroker.engines.aws.transport.boto import build_iam
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.engines.aws.transport.light_iam import LightIAM, parse_success
from awsbroker.engines.aws.transport.light_query import NotRecognised
from awsbroker.sdk.telemetry import AWS_CALLS, NullTelemetry

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
NS = "https://iam.amazonaws.com/doc/2010-05-08/"
META = (
    "<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
    "</ResponseMetadata>"
)

# Answers as IAM's API reference records them (names, ids and keys are its examples; the
# reference's CreateUser example leaves out CreateDate, which IAM always sends).
CREATE_USER = f"""<CreateUserResponse xmlns="{NS}">
  <CreateUserResult>
    <User>
      <Path>/division_abc/subdivision_xyz/</Path>
      <UserName>Bob</UserName>
      <UserId>AIDGPMS9RO4H3FEXAMPLE</UserId>
      <Arn>arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob</Arn>
      <CreateDate>2013-01-02T16:23:34Z</CreateDate>
    </User>
  </CreateUserResult>
  {META}
</CreateUserResponse>"""
CREATE_USER_TAGGED = CREATE_USER.replace(
    "<CreateDate>2013-01-02T16:23:34Z</CreateDate>",
    """<CreateDate>2013-01-02T16:23:34.123Z</CreateDate>
      <PermissionsBoundary>
        <PermissionsBoundaryType>Policy</PermissionsBoundaryType>
        <PermissionsBoundaryArn>arn:aws:iam::123456789012:policy/boundary</PermissionsBoundaryArn>
      </PermissionsBoundary>
      <Tags>
        <member><Key>Dept</Key><Value>Accounting</Value></member>
        <member><Key>CostCenter</Key><Value>12345</Value></member>
      </Tags>""",
)
CREATE_ACCESS_KEY = f"""<CreateAccessKeyResponse xmlns="{NS}">
   <CreateAccessKeyResult>
     <AccessKey>
         <UserName>Bob</UserName>
         <AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId>
         <Status>Active</Status>
         <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      </AccessKey>
   </CreateAccessKeyResult>
   {META}
</CreateAccessKeyResponse>"""
CREATE_ACCESS_KEY_DATED = CREATE_ACCESS_KEY.replace(
    "</SecretAccessKey>", "</SecretAccessKey><CreateDate>2024-05-01T10:00:00Z</CreateDate>"
)


def empty(operation: str) -> str:
    return f'<{operation}Response xmlns="{NS}">{META}</{operation}Response>'


ERROR = """<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
<RequestId>e3c7e8a8-7b5b-4c5e-9f6f-2a9b5d1c0a11</RequestId>
</ErrorResponse>"""
EMPTY_ANSWERS = ["PutUserPolicy", "AttachUserPolicy", "AddUserToGroup", "DeleteUser",
                 "DeleteAccessKey", "DetachUserPolicy", "RemoveUserFromGroup"]  # fmt: skip


def spec(endpoint: str | None, max_retries: int = -1, region: str = "us-east-1") -> ClientSpec:
    return ClientSpec("iam", region, endpoint, KEY[0], KEY[1], max_retries)


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        ("CreateUser", CREATE_USER),
        ("CreateUser", CREATE_USER_TAGGED),
        ("CreateAccessKey", CREATE_ACCESS_KEY),
        ("CreateAccessKey", CREATE_ACCESS_KEY_DATED),
        *((operation, empty(operation)) for operation in EMPTY_ANSWERS),
    ],
)
def test_the_parser_reads_what_botocore_reads(operation: str, answer: str) -> None:
    client: Any = build_iam(spec("http://127.0.0.1:1"), NullTelemetry())
    assert parse_success(operation, answer.encode()) == botocore_parse(client, operation, answer)
    client.close()


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("CreateUser", "<html>not xml"),
        (
            "CreateUser",
            CREATE_USER.replace("<Path>", "<Surprise>").replace("</Path>", "</Surprise>"),
        ),
        ("CreateUser", CREATE_USER.replace("2013-01-02T16:23:34Z", "2013-01-02T16:23:34+01:00")),
        ("CreateUser", CREATE_USER.replace("<UserId>AIDGPMS9RO4H3FEXAMPLE</UserId>", "")),
        ("CreateUser", CREATE_USER_TAGGED.replace("<Key>", "<Name>", 1)),
        ("CreateUser", CREATE_ACCESS_KEY),  # another operation's answer
        ("CreateAccessKey", CREATE_ACCESS_KEY.replace("<Status>Active</Status>", "")),
        ("CreateAccessKey", empty("CreateAccessKey")),
        ("PutUserPolicy", CREATE_USER.replace("CreateUser", "PutUserPolicy")),
        ("ListAccessKeys", empty("ListAccessKeys")),  # listings are botocore's to read
    ],
)
def test_the_parser_refuses_what_it_does_not_know(operation: str, body: str) -> None:
    with pytest.raises(NotRecognised):
        parse_success(operation, body.encode())


REQUESTS = [
    (
        "CreateUser",
        "create_user",
        {
            "UserName": "vault-token-demo-1733360000-1234",
            "Path": "/brokered/",
            "PermissionsBoundary": "arn:aws:iam::123456789012:policy/boundary",
            "Tags": [{"Key": "team", "Value": "a b&c=d/é"}, {"Key": "reason", "Value": "x"}],
        },
    ),
    ("PutUserPolicy", "put_user_policy",
     {"UserName": "u", "PolicyName": "demo", "PolicyDocument": '{"Version": "2012-10-17"}'}),
    ("AttachUserPolicy", "attach_user_policy",
     {"UserName": "u", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ("AddUserToGroup", "add_user_to_group", {"UserName": "u", "GroupName": "devs"}),
    ("CreateAccessKey", "create_access_key", {"UserName": "u"}),
    ("DeleteUser", "delete_user", {"UserName": "u"}),
    ("ListAttachedUserPolicies", "list_attached_user_policies",
     {"UserName": "u", "MaxItems": 1000}),
]  # fmt: skip


@pytest.mark.parametrize(("operation", "method", "params"), REQUESTS)
@pytest.mark.parametrize(
    "target",
    [
        ("http://127.0.0.1:4566", "eu-west-1", "", "eu-west-1"),
        (None, "eu-west-1", "FwoGZXIvYXdzEXAMPLETOKEN", "us-east-1"),  # IAM's global endpoint
        (None, "cn-north-1", "", "cn-north-1"),  # the aws-cn partition's
        ("https://h:443", "us-east-1", "", "us-east-1"),
    ],
)
def test_the_request_is_botocores_byte_for_byte(
    operation: str, method: str, params: dict[str, Any], target: tuple[str | None, str, str, str]
) -> None:
    """Same body (Action, Version, every parameter, in order), same URL, same signed headers,
    same credential scope (the signing region botocore resolves), same signature."""
    endpoint, region, token, scope = target
    client_spec = ClientSpec("iam", region, endpoint, KEY[0], KEY[1], session_token=token)
    light = LightIAM(build_iam(client_spec, NullTelemetry()), NullTelemetry())
    ours_body, _ = light.request(operation, params)
    theirs = boto_request(build_iam(client_spec, NullTelemetry()), method, params)
    body = theirs.body
    assert ours_body == (body.encode() if isinstance(body, str) else body)
    assert ours_body.startswith(f"Action={operation}&Version=2010-05-08".encode())
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
    assert f"/{scope}/iam/aws4_request," in headers["Authorization"]
    assert headers["Content-Type"] == theirs.headers["Content-Type"].decode()
    if token:
        assert headers["X-Amz-Security-Token"] == theirs.headers["X-Amz-Security-Token"].decode()
    assert plan.url.rstrip("/") == theirs.url.rstrip("/")
    light.close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    with scripted_endpoint() as server:
        yield server


def _outcome(client: Any, server: Any, call: str) -> tuple[str, str, int]:
    server.requests = 0
    try:
        if call == "create_user":
            client.create_user(UserName="bob", Tags=[{"Key": "k", "Value": "v"}])
        else:
            client.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument="{}")
    except botocore.exceptions.ClientError as exc:
        return type(exc).__name__, exc.response["Error"]["Code"], server.requests
    return "ok", "", server.requests


THROTTLED = ERROR.format(code="Throttling", message="Rate exceeded").encode()
EXISTS = ERROR.format(code="EntityAlreadyExists", message="User with name bob exists").encode()
FAILURE = ERROR.format(code="ServiceFailure", message="internal").encode()
DENIED = ERROR.format(code="AccessDenied", message="not authorized").encode()


@pytest.mark.parametrize(
    ("call", "script"),
    [
        ("create_user", [(200, CREATE_USER.encode())]),
        ("create_user", [(400, THROTTLED), (400, THROTTLED), (200, CREATE_USER.encode())]),
        ("create_user", [(400, THROTTLED)]),  # retried until the attempts run out, then raised
        ("create_user", [(409, EXISTS)]),  # a modeled error: the client's own exception class
        ("create_user", [(500, FAILURE), (200, CREATE_USER.encode())]),
        ("create_user", [(503, b"<html>busy</html>")]),
        ("put_user_policy", [(200, empty("PutUserPolicy").encode())]),
        ("put_user_policy", [(500, b""), (200, empty("PutUserPolicy").encode())]),
        ("put_user_policy", [(403, DENIED)]),  # not retried
    ],
)
@pytest.mark.parametrize("max_retries", [-1, 2])
def test_retries_and_errors_are_boto3s(
    scripted: Any, call: str, script: list[tuple[int, bytes]], max_retries: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the backoff, not its length
    scripted.script = script
    telemetry = RecordingTelemetry()
    light = LightIAM(build_iam(spec(scripted.endpoint, max_retries), NullTelemetry()), telemetry)
    assert light.light
    boto = build_iam(spec(scripted.endpoint, max_retries), NullTelemetry())
    ours, theirs = _outcome(light, scripted, call), _outcome(boto, scripted, call)
    assert ours == theirs
    operation = "CreateUser" if call == "create_user" else "PutUserPolicy"
    assert telemetry.counts == [
        (AWS_CALLS, {"service": "iam", "operation": operation, "error_code": ours[1]})
    ]
    light.close()
    boto.close()


def test_a_refused_connection_is_botocores_error_after_its_retries(monkeypatch: Any) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    light = LightIAM(build_iam(spec("http://127.0.0.1:1", 1), NullTelemetry()), NullTelemetry())
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        light.create_access_key(UserName="bob")


def test_invalid_parameters_are_refused_before_sending() -> None:
    light = LightIAM(build_iam(spec("http://127.0.0.1:1"), NullTelemetry()), NullTelemetry())
    with pytest.raises(botocore.exceptions.ParamValidationError):
        light.create_user(UserName="")


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.disable_auth()
        yield server


def _issue_and_revoke(client: Any, name: str) -> dict[str, Any]:
    """iam_user's calls, issuing then revoking (iam_user.create and delete_user), and what
    they answered."""
    user = client.create_user(
        UserName=name, Path="/brokered/", Tags=[{"Key": "reason", "Value": "ticket 42"}]
    )["User"]
    client.attach_user_policy(UserName=name, PolicyArn=MANAGED)
    client.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=POLICY)
    client.add_user_to_group(UserName=name, GroupName="devs")
    key = client.create_access_key(UserName=name)["AccessKey"]
    seen = {
        "user": (user["UserName"], user["Path"], user["Arn"], user.get("Tags")),
        "key": (key["UserName"], key["Status"], sorted(key)),
        "groups": [g["GroupName"] for g in client.list_groups_for_user(UserName=name)["Groups"]],
        "inline": client.list_user_policies(UserName=name)["PolicyNames"],
        "attached": client.list_attached_user_policies(UserName=name)["AttachedPolicies"],
        "keys": len(client.list_access_keys(UserName=name)["AccessKeyMetadata"]),
        "mfa": client.list_mfa_devices(UserName=name)["MFADevices"],
        "user_again": client.get_user(UserName=name)["User"]["UserName"],  # boto3's own call
    }
    client.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    client.detach_user_policy(UserName=name, PolicyArn=MANAGED)
    client.delete_user_policy(UserName=name, PolicyName="inline")
    client.remove_user_from_group(UserName=name, GroupName="devs")
    client.delete_user(UserName=name)
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        client.delete_user(UserName=name)
    seen["gone"] = (type(gone.value).__name__, gone.value.response["Error"]["Code"])
    return seen


MANAGED = "arn:aws:iam::123456789012:policy/managed"
POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
    '"Resource": "*"}]}'
)


def test_issuing_and_revoking_against_moto_match_boto3s_answers(moto: MotoServer) -> None:
    admin = moto_client(moto.endpoint, "iam", *KEY)
    admin.create_group(GroupName="devs")
    admin.create_policy(PolicyName="managed", PolicyDocument=POLICY)
    admin.close()
    telemetry = RecordingTelemetry()
    light = LightIAM(build_iam(spec(moto.endpoint), telemetry), telemetry)
    assert light.light
    boto = build_iam(spec(moto.endpoint), NullTelemetry())
    ours, theirs = _issue_and_revoke(light, "alice"), _issue_and_revoke(boto, "alice")
    assert ours == theirs
    assert ours["gone"] == ("NoSuchEntityException", "NoSuchEntity")
    # Every call counted once, the light ones and GetUser (boto3's, instrumented as ever).
    operations = [labels["operation"] for _, labels in telemetry.counts]
    assert operations.count("CreateUser") == 1
    assert operations.count("GetUser") == 1
    assert operations.count("DeleteUser") == 2
    light.close()
    boto.close()


def test_signatures_are_checked_by_moto_with_auth_on(moto: MotoServer) -> None:
    """moto recomputes each signature with the caller's secret key: ours is accepted, and a
    wrong secret is refused with IAM's error."""
    moto.reset()
    key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    try:
        good = LightIAM(build_iam(spec_with(moto.endpoint, *key), NullTelemetry()), NullTelemetry())
        assert good.light
        good.create_user(UserName="signed", Tags=[{"Key": "a b", "Value": "c/d=é"}])
        good.create_access_key(UserName="signed")
        bad = LightIAM(
            build_iam(spec_with(moto.endpoint, key[0], key[1] + "x"), NullTelemetry()),
            NullTelemetry(),
        )
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            bad.create_user(UserName="unsigned")
        assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        good.close()
        bad.close()
    finally:
        moto.disable_auth()


def spec_with(endpoint: str, access_key: str, secret_key: str) -> ClientSpec:
    return ClientSpec("iam", "us-east-1", endpoint, access_key, secret_key, 0)


@pytest.mark.parametrize(
    ("env", "endpoint", "light"),
    [
        ({}, None, True),
        ({"HTTPS_PROXY": "http://proxy.invalid:3128"}, None, False),
        ({"HTTPS_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "amazonaws.com"}, None, True),
        ({"HTTP_PROXY": "http://proxy.invalid:3128"}, "http://127.0.0.1:4566", False),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, None, True),
        ({}, "https://iam.example.com/prefix", False),
    ],
)
def test_what_the_light_path_leaves_to_boto3(
    env: dict[str, str], endpoint: str | None, light: bool, monkeypatch: Any
) -> None:
    """A proxy for the endpoint or an endpoint with a path: every call is boto3's. FIPS:
    botocore's endpoint rules resolve the URL (iam-fips) the light path uses."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    iam = LightIAM(build_iam(spec(endpoint, region="eu-west-1"), NullTelemetry()), NullTelemetry())
    assert iam.light is light
    if light:
        assert iam._plan is not None
        request = boto_request(
            build_iam(spec(endpoint, region="eu-west-1"), NullTelemetry()),
            "create_access_key",
            {"UserName": "u"},
        )
        assert iam._plan.url.rstrip("/") == request.url.rstrip("/")
    iam.close()


def test_the_user_agent_is_boto3s_with_the_app_id(monkeypatch: Any) -> None:
    """`AWS_SDK_UA_APP_ID` reaches AWS as boto3 sends it (`app/<id>`): operators tell their
    processes apart by it in CloudTrail."""
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "node-7")
    light = LightIAM(build_iam(spec("http://127.0.0.1:1"), NullTelemetry()), NullTelemetry())
    _, headers = light.request("CreateAccessKey", {"UserName": "u"})
    theirs = boto_request(
        build_iam(spec("http://127.0.0.1:1"), NullTelemetry()), "create_access_key",
        {"UserName": "u"},
    )  # fmt: skip
    assert "app/node-7" in headers["User-Agent"]
    assert theirs.headers["User-Agent"].decode().startswith(headers["User-Agent"].split(" m/")[0])
    light.close()
