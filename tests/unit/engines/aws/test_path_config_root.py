"""`config/root`: regions and endpoints boto3 would refuse are refused at the write (found by
the OpenAPI fuzzer: a region of `'=\\t'` was stored, and every later AWS call of the mount then
failed with 500)."""

from __future__ import annotations

import re

import pytest
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.records.root_config import RootConfig, load
from awsbroker.engines.aws.transport import endpoints
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
        ("iam_endpoint", "ftp://example.com", "invalid endpoint 'ftp://example.com'"),
        ("iam_endpoint", "https://example.com/p?x=1", "invalid endpoint"),
        ("sts_endpoint", "https://", "invalid endpoint 'https://'"),
        ("iam_endpoint", "localhost:port", "invalid endpoint 'localhost:port'"),
        ("iam_endpoint", " localhost", "invalid endpoint"),
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
    with pytest.raises(InvalidRequest, match="invalid endpoint 'no pe'"):
        write(b, **GOOD, sts_fallback_endpoints=["no pe"], sts_fallback_regions=["us-west-2"])
    assert load(b) is None


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://iam.amazonaws.com",
        "http://127.0.0.1:5000",
        "http://[::1]:5000",
        "http://moto",
        "localhost",  # hvac's own test writes this; the SDK for Go reads it as https://localhost
        "localhost:4566",
        "HTTPS://iam.amazonaws.com/",
    ],
)
def test_usual_endpoints_pass(b: AWSBackend, endpoint: str) -> None:
    write(b, **{**GOOD, "iam_endpoint": endpoint, "sts_endpoint": endpoint})
    stored = load(b)
    assert stored is not None
    assert stored.iam_endpoint == endpoint
    endpoints.check_config(stored)


@pytest.mark.parametrize(
    ("stored", "url"),
    [
        ("localhost", "https://localhost"),
        ("localhost:4566", "https://localhost:4566"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ],
)
def test_a_bare_host_is_built_as_https(stored: str, url: str) -> None:
    config = RootConfig(
        access_key="AKIAEXAMPLE", secret_key="s", region="us-east-1", iam_endpoint=stored
    )
    config.sts_endpoint = stored
    assert endpoints.iam_spec(config).endpoint == url
    assert [s.endpoint for s in endpoints.sts_specs(config)] == [url]
