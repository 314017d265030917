"""Console sign-in's federation endpoint when `config/root` names none: the partition's, from
the config's region (issue 19), against the in-process fake of the AWS protocols and a fake
of the `Federation` protocol that records what it was asked."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from tests.support.inprocess_aws import ACCOUNT, InProcessAWS
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


class RecordingFederation:
    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str], int | None]] = []

    def signin_token(
        self, endpoint: str, session: dict[str, str], session_duration: int | None
    ) -> str:
        self.asked.append((endpoint, session, session_duration))
        return "token-1"


def backend(region: str, federation: RecordingFederation) -> AWSBackend:
    config = BackendConfig(
        storage=InmemStorage(), system=FakeSystemView(ManualClock()), mount_path="aws/"
    )
    aws = InProcessAWS()
    b = AWSBackend(config, calls=aws, local=aws)
    b.federation = federation
    call(b, "config/root", access_key=KEY[0], secret_key=KEY[1], region=region)
    return b


def call(b: AWSBackend, path: str, /, **data: JSONValue) -> Response | None:
    request = Request(operation=Operation.UPDATE, path=path, data=dict(data), display_name="root")
    return b.handle_request(request)


@pytest.mark.parametrize(
    ("region", "endpoint", "console"),
    [
        (
            "us-east-1",
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com/",
        ),
        (
            "us-gov-west-1",
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com/",
        ),
        ("cn-north-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
    ],
)
def test_the_partition_s_endpoint_and_console_by_default(
    region: str, endpoint: str, console: str
) -> None:
    federation = RecordingFederation()
    b = backend(region, federation)
    call(b, "roles/r", credential_type="federation_token", policy_document=POLICY)

    response = call(b, "console/r", ttl="2h")

    assert response is not None
    assert response.data is not None
    [(asked, session, duration)] = federation.asked
    assert asked == endpoint
    assert set(session) == {"sessionId", "sessionKey", "sessionToken"}
    assert duration is None  # a federation token's session lasts the token
    url = str(response.data["url"])
    assert url.startswith(endpoint + "?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["Destination"] == [console]
    assert query["SigninToken"] == ["token-1"]


def test_a_configured_endpoint_wins() -> None:
    federation = RecordingFederation()
    b = backend("cn-north-1", federation)
    call(b, "config/root", federation_endpoint="https://federation.example.com/federation")
    call(b, "roles/r", credential_type="assumed_role", role_arns=f"arn:aws:iam::{ACCOUNT}:role/x")
    call(b, "console/r", ttl="1h")
    assert federation.asked[0][0] == "https://federation.example.com/federation"
    assert federation.asked[0][2] == 3600
