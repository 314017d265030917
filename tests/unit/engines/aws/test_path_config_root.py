"""`config/root`: regions and endpoints boto3 would refuse are refused at the write (found by
the OpenAPI fuzzer: a region of `'=\\t'` was stored, and every later AWS call of the mount then
failed with 500)."""

from __future__ import annotations

import re

import pytest
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws import client
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.path_config_root import load
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONValue, Operation, Request

GOOD: dict[str, JSONValue] = {
    "access_key": "AKIAEXAMPLE",
    "secret_key": "secret",
    "region": "us-east-1",
    "iam_endpoint": "http://127.0.0.1:5000",
    "sts_endpoint": "http://127.0.0.1:5000",
}


@pytest.fixture
def b() -> AWSBackend:
    config = BackendConfig(storage=InmemStorage(), system=FakeSystemView(), mount_path="aws/")
    return AWSBackend(config)


def write(b: AWSBackend, **data: JSONValue) -> None:
    b.handle_request(Request(Operation.UPDATE, "config/root", data=data))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("region", "=\t", "invalid region '=\\t'"),
        ("region", "us east 1", "invalid region"),
        ("sts_region", "-bad-", "invalid region '-bad-'"),
        ("iam_endpoint", "not a url", "invalid endpoint 'not a url'"),
        ("sts_endpoint", "http://[", "invalid endpoint 'http://['"),
        ("iam_endpoint", "http://exa mple.com", "invalid endpoint"),
    ],
)
def test_a_region_or_endpoint_boto3_refuses_is_a_400(
    b: AWSBackend, field: str, value: str, message: str
) -> None:
    write(b, **GOOD)
    with pytest.raises(InvalidRequest, match="^" + re.escape(message)):
        write(b, **{field: value})
    stored = load(b)
    assert stored is not None
    assert (stored.region, stored.iam_endpoint) == ("us-east-1", "http://127.0.0.1:5000")


def test_fallback_regions_and_endpoints_are_checked_too(b: AWSBackend) -> None:
    with pytest.raises(InvalidRequest, match="invalid region 'x y'"):
        write(
            b,
            **GOOD,
            sts_fallback_endpoints=["https://sts.us-west-2.amazonaws.com"],
            sts_fallback_regions=["x y"],
        )
    with pytest.raises(InvalidRequest, match="invalid endpoint 'nope'"):
        write(b, **GOOD, sts_fallback_endpoints=["nope"], sts_fallback_regions=["us-west-2"])
    assert load(b) is None


@pytest.mark.parametrize(
    "endpoint",
    ["https://iam.amazonaws.com", "http://127.0.0.1:5000", "http://[::1]:5000", "http://moto"],
)
def test_usual_endpoints_pass(b: AWSBackend, endpoint: str) -> None:
    write(b, **{**GOOD, "iam_endpoint": endpoint, "sts_endpoint": endpoint})
    stored = load(b)
    assert stored is not None
    assert stored.iam_endpoint == endpoint
    client.check_config(stored)
