"""boto3's clients, built from a `ClientSpec`: the one place a boto3 session is made."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import botocore.config

from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.engines.aws.transport.metrics import instrument
from awsbroker.sdk.telemetry import Telemetry

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient


def client_config(max_retries: int) -> botocore.config.Config:
    """Legacy mode (botocore's default) retries throttling, 5xx and connection errors with
    exponential backoff and, unlike standard mode, has no client-wide retry quota: a fault
    storm on one revocation must not leave the next ones with no retries at all. The lease
    manager's own backoff sits on top."""
    if max_retries >= 0:
        return botocore.config.Config(
            retries={"mode": "legacy", "total_max_attempts": max_retries + 1},
            connect_timeout=10,
            read_timeout=30,
            max_pool_connections=64,
        )
    return botocore.config.Config(
        retries={"mode": "legacy"}, connect_timeout=10, read_timeout=30, max_pool_connections=64
    )


def _session(spec: ClientSpec) -> boto3.session.Session:
    if not spec.access_key:
        return boto3.session.Session()  # boto3's default credential chain
    return boto3.session.Session(
        aws_access_key_id=spec.access_key,
        aws_secret_access_key=spec.secret_key,
        aws_session_token=spec.session_token or None,
    )


def build_iam(spec: ClientSpec, telemetry: Telemetry) -> IAMClient:
    client = _session(spec).client(
        "iam",
        region_name=spec.region,
        endpoint_url=spec.endpoint,
        config=client_config(spec.max_retries),
    )
    instrument(client, telemetry)
    return client


class BotoClients:
    """The `ClientMaker` (clients.py) of boto3's clients, in this process."""

    def iam(self, spec: ClientSpec, telemetry: Telemetry) -> IAMClient:
        return build_iam(spec, telemetry)

    def sts(self, spec: ClientSpec, telemetry: Telemetry) -> STSClient:
        return build_sts(spec, telemetry)


def build_sts(spec: ClientSpec, telemetry: Telemetry) -> STSClient:
    client = _session(spec).client(
        "sts",
        region_name=spec.region,
        endpoint_url=spec.endpoint,
        config=client_config(spec.max_retries),
    )
    instrument(client, telemetry)
    return client
