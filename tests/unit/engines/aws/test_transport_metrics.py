"""AWS call metrics from botocore's events, against moto in process (and a closed port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import botocore.config
import botocore.exceptions
import pytest
from mypy_boto3_iam import IAMClient
from tests.support.moto_server import MotoServer
from tests.support.telemetry import RecordingTelemetry

from awsbroker.engines.aws.transport.metrics import instrument
from awsbroker.sdk.telemetry import AWS_CALL_SECONDS, AWS_CALLS

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        server.disable_auth()
        yield server


def iam_client(endpoint: str) -> IAMClient:
    client: IAMClient = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY[0],
        aws_secret_access_key=KEY[1],
        config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    return client


def test_successful_and_failed_calls_are_counted_and_timed(moto: MotoServer) -> None:
    moto.reset()
    telemetry = RecordingTelemetry()
    iam = iam_client(moto.endpoint)
    instrument(iam, telemetry)
    iam.create_user(UserName="metrics-user")
    with pytest.raises(botocore.exceptions.ClientError):
        iam.get_user(UserName="nobody")
    iam.close()
    assert telemetry.counts == [
        (AWS_CALLS, {"service": "iam", "operation": "CreateUser", "error_code": ""}),
        (AWS_CALLS, {"service": "iam", "operation": "GetUser", "error_code": "NoSuchEntity"}),
    ]
    assert [(n, labels["operation"]) for n, _, labels in telemetry.observations] == [
        (AWS_CALL_SECONDS, "CreateUser"),
        (AWS_CALL_SECONDS, "GetUser"),
    ]
    assert all(0 <= seconds < 30 for _, seconds, _ in telemetry.observations)


def test_a_call_that_gets_no_answer_is_labelled_with_the_exception() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    telemetry = RecordingTelemetry()
    iam = iam_client(f"http://127.0.0.1:{port}")
    instrument(iam, telemetry)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        iam.list_users()
    iam.close()
    assert telemetry.counts == [
        (
            AWS_CALLS,
            {"service": "iam", "operation": "ListUsers", "error_code": "EndpointConnectionError"},
        )
    ]
