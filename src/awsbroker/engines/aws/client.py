"""The seam between the engine and boto3: clients built from `config/root`, and AWS errors.

Nothing else in the engine knows about botocore. Clients are cached by the `ClientSpec` they
were built from, and every use reads `config/root` as stored now: another process sharing the
storage may have rotated the key or moved an endpoint, and a request must not run on the old
one. Tests point the endpoints at a moto server; nothing is patched.

A client is described by a `ClientSpec` and built by `build_client`, here or, when the server
runs AWS calls in helper processes (call_process.py), there: the mount then holds a
`RemoteClient` that sends each call to a helper and waits for its answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers
import botocore.utils

from awsbroker.engines.aws.call_metrics import instrument
from awsbroker.engines.aws.path_config_root import RootConfig
from awsbroker.sdk.errors import BrokerError, InvalidRequest, UpstreamError
from awsbroker.sdk.telemetry import NullTelemetry, Telemetry

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

    from awsbroker.engines.aws.call_process import CallPool

# The AWS SDKs' list of throttling codes (Go SDK `request.IsErrorThrottle`).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestThrottled",
    "RequestLimitExceeded", "PriorRequestNotComplete", "TransactionInProgressException",
    "EC2ThrottledException", "SlowDown",
})  # fmt: skip
# Everything a boto3 call raises when AWS (or something in between) answers badly. A response
# that is not AWS's XML (an HTML 5xx from a proxy, moto's unimplemented actions) raises
# ResponseParserError, which is not a BotoCoreError.
AWS_ERRORS = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
    botocore.parsers.ResponseParserError,
)
PARTIAL_KEYS = (
    "static AWS client credentials haven't been properly configured "
    "(the access key or secret key were provided but not both)"
)


def fallback_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def error_code(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def unsupported(exc: Exception) -> bool:
    """Whether AWS's answer says the endpoint does not implement the call: a NotImplemented
    code, HTTP 501, or a 500 or a page that is not AWS's XML (what moto answers)."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return True
    status = 0
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) == "NotImplemented" or status in (500, 501)


def short_answer(exc: Exception) -> str:
    """AWS's answer in a few words, never the body (an HTML page would fill the log)."""
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "a response that is not AWS's XML"
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return f"{error_code(exc) or 'an error'} (HTTP {status})"
    return type(exc).__name__


def aws_error(prefix: str, exc: Exception) -> BrokerError:
    """An AWS failure as the caller sees it: 502 when throttled, else 400 with AWS's code."""
    if isinstance(exc, BrokerError):
        return exc
    code = error_code(exc)
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = exc.response.get("Error", {}).get("Message", "")
        text = f"{prefix}: {code}: {message}"
        if code in THROTTLING_CODES or status == 429:
            return UpstreamError(text)
        return InvalidRequest(text)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        # The SDK refused the request before sending it (a TTL under 900 s, a one-character
        # external_id...): the caller's input, as the Go SDK's InvalidParameter is in Vault.
        return InvalidRequest(f"{prefix}: InvalidParameter: {exc}")
    if isinstance(exc, botocore.exceptions.BotoCoreError | botocore.parsers.ResponseParserError):
        # Connection failures, missing credentials, timeouts, garbled answers: AWS unreachable
        # or unusable.
        return UpstreamError(f"{prefix}: {exc}")
    raise exc


@dataclass(frozen=True)
class ClientSpec:
    """Everything a client is built from. Equal specs make interchangeable clients."""

    service: str  # "iam" or "sts"
    region: str
    endpoint: str | None
    access_key: str = ""  # empty: boto3's default credential chain
    secret_key: str = field(default="", repr=False)
    max_retries: int = -1  # -1: botocore's default


def build_client(spec: ClientSpec, telemetry: Telemetry) -> BaseClient:
    if spec.access_key:
        session = boto3.session.Session(
            aws_access_key_id=spec.access_key, aws_secret_access_key=spec.secret_key
        )
    else:
        session = boto3.session.Session()
    client = session.client(
        spec.service,  # type: ignore[call-overload]
        region_name=spec.region,
        endpoint_url=spec.endpoint,
        config=client_config(spec.max_retries),
    )
    instrument(client, telemetry)
    return cast("BaseClient", client)


class AWSClients:
    """IAM and STS clients for one mount: boto3's, or proxies to the helper processes of
    `calls`, for `config/root` as stored now.

    Each `iam()` and `sts()` reads the config (one storage read) and reuses the cached client
    only if the spec it derives is the one the client was built from; otherwise it builds
    another. So a key rotated, or a region or endpoint written, on another process is used by
    this one's next call, and no AWS call is made unless the config changed (the STS fallback
    probe runs once per config)."""

    def __init__(
        self,
        load_config: Callable[[], RootConfig | None],
        telemetry: Telemetry | None = None,
        calls: CallPool | None = None,
    ) -> None:
        self._load = load_config
        # Every client made here reports its calls (call_metrics.py).
        self.telemetry = telemetry or NullTelemetry()
        self._calls = calls
        self._lock = threading.Lock()
        # The client and the spec(s) it was built from. A replaced client is not closed here:
        # a request may still be using it; it closes when the last reference goes.
        self._iam: tuple[ClientSpec, IAMClient] | None = None
        self._sts: tuple[tuple[ClientSpec, ...], STSClient] | None = None

    def iam(self) -> IAMClient:
        spec = iam_spec(self._load() or RootConfig())
        with self._lock:
            if self._iam is None or self._iam[0] != spec:
                self._iam = (spec, cast("IAMClient", self._client(spec)))
            return self._iam[1]

    def sts(self) -> STSClient:
        specs = sts_specs(self._load() or RootConfig())
        with self._lock:
            if self._sts is None or self._sts[0] != specs:
                self._sts = (specs, self._first_working_sts(specs))
            return self._sts[1]

    def _client(self, spec: ClientSpec) -> Any:
        if self._calls is not None:
            return self._calls.client(spec, self.telemetry)
        return build_client(spec, self.telemetry)

    def _first_working_sts(self, specs: tuple[ClientSpec, ...]) -> STSClient:
        last: Exception | None = None
        for spec in specs:
            client = cast("STSClient", self._client(spec))
            if len(specs) == 1:
                return client
            try:
                client.get_caller_identity()
                return client
            except AWS_ERRORS as exc:
                last = exc
        raise InvalidRequest(f"could not obtain sts client: {last}")


def iam_spec(config: RootConfig) -> ClientSpec:
    return _spec(config, "iam", config.region or fallback_region(), config.iam_endpoint)


def sts_specs(config: RootConfig) -> tuple[ClientSpec, ...]:
    """The STS clients to try, in order (`sts_candidates`)."""
    return tuple(_spec(config, "sts", r, e) for r, e in sts_candidates(config))


def _spec(config: RootConfig, service: str, region: str, endpoint: str | None) -> ClientSpec:
    if bool(config.access_key) != bool(config.secret_key):
        raise InvalidRequest(PARTIAL_KEYS)
    return ClientSpec(
        service,
        region,
        sdk_endpoint(endpoint) if endpoint else None,
        config.access_key,
        config.secret_key,
        config.max_retries,
    )


def check_config(config: RootConfig) -> None:
    """Refuse the regions and endpoints boto3 would refuse to build a client with (botocore's
    own checks, without building one): `'=x'` as a region is the writer's 400, not a 500 on
    every later request of the mount."""
    candidates = sts_candidates(config)
    for region in [config.region or fallback_region(), *(r for r, _ in candidates)]:
        try:
            botocore.utils.validate_region_name(region)
        except botocore.exceptions.InvalidRegionError:
            raise InvalidRequest(f"invalid region {region!r}: not a valid host label") from None
    for endpoint in [config.iam_endpoint, *(e for _, e in candidates)]:
        if endpoint and not _valid_endpoint(endpoint):
            raise InvalidRequest(
                f"invalid endpoint {endpoint!r}: use host, host:port or a URL such as https://host"
            )


def sdk_endpoint(endpoint: str) -> str:
    """The URL a client is built with: as the AWS SDK for Go does (`endpoints.AddScheme`), a
    bare host or host:port means `https://host`. The stored config keeps the string as given."""
    return endpoint if "://" in endpoint else f"https://{endpoint}"


def _valid_endpoint(endpoint: str) -> bool:
    """Whether an SDK can use the endpoint: no whitespace, http or https, a host, no query."""
    if any(c.isspace() for c in endpoint):
        return False
    url = sdk_endpoint(endpoint)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        if parts.scheme.lower() not in ("http", "https") or parts.query or not parts.hostname:
            return False
        return bool(
            botocore.utils.is_valid_endpoint_url(url)
            or botocore.utils.is_valid_ipv6_endpoint_url(url)
        )
    except ValueError:  # urlsplit refuses it ("Invalid IPv6 URL", a bad port)
        return False


def sts_candidates(config: RootConfig) -> list[tuple[str, str | None]]:
    """(region, endpoint) pairs in the order Vault 1.19+ tries them."""
    regions = [config.region] if config.region else []
    endpoints: list[str | None] = []
    if config.sts_endpoint:
        endpoints = [config.sts_endpoint, *config.sts_fallback_endpoints]
        if config.sts_region:
            regions = [config.sts_region]
        regions += config.sts_fallback_regions
    if not regions:
        regions = [fallback_region()]
    if not endpoints:
        endpoints = [None] * len(regions)
    if len(regions) != len(endpoints):
        raise InvalidRequest("number of regions does not match number of endpoints")
    return list(zip(regions, endpoints, strict=True))


def botocore_config(config: RootConfig) -> botocore.config.Config:
    return client_config(config.max_retries)


def client_config(max_retries: int) -> botocore.config.Config:
    # Legacy mode (botocore's default) retries throttling, 5xx and connection errors with
    # exponential backoff and, unlike standard mode, has no client-wide retry quota: a fault
    # storm on one revocation must not leave the next ones with no retries at all. The lease
    # manager's own backoff sits on top.
    retries: dict[str, object] = {"mode": "legacy"}
    if max_retries >= 0:
        retries["total_max_attempts"] = max_retries + 1
    return botocore.config.Config(
        retries=retries,  # type: ignore[arg-type]
        connect_timeout=10,
        read_timeout=30,
        max_pool_connections=64,
    )
