"""Where the engine's clients point: `ClientSpec`s derived from `config/root` (region,
endpoints, keys, retries), the STS endpoints in Vault's order of trying, and the checks that
refuse what boto3 would refuse to build a client with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.utils

from awsbroker.engines.aws.records.root_config import RootConfig
from awsbroker.sdk.errors import InvalidRequest

Service = Literal["iam", "sts"]
PARTIAL_KEYS = (
    "static AWS client credentials haven't been properly configured "
    "(the access key or secret key were provided but not both)"
)


def fallback_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@dataclass(frozen=True)
class ClientSpec:
    """Everything a client is built from. Equal specs make interchangeable clients."""

    service: Service
    region: str
    endpoint: str | None
    access_key: str = ""  # empty: boto3's default credential chain
    secret_key: str = field(default="", repr=False)
    max_retries: int = -1  # -1: botocore's default
    session_token: str = field(default="", repr=False)  # with AssumeRole's credentials


def iam_spec(config: RootConfig) -> ClientSpec:
    return _spec(config, "iam", config.region or fallback_region(), config.iam_endpoint)


def sts_specs(config: RootConfig) -> tuple[ClientSpec, ...]:
    """The STS clients to try, in order (`sts_candidates`)."""
    return tuple(_spec(config, "sts", r, e) for r, e in sts_candidates(config))


def _spec(config: RootConfig, service: Service, region: str, endpoint: str | None) -> ClientSpec:
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


def signed_spec(
    config: RootConfig, service: Service, access_key: str, secret_key: str, session_token: str = ""
) -> ClientSpec:
    """A client signed with the given key (not config/root's), on the config's IAM endpoint, or
    its first STS endpoint, with its retries."""
    if service == "iam":
        region, endpoint = config.region or fallback_region(), config.iam_endpoint or None
    else:
        region, endpoint = sts_candidates(config)[0]
    return replace(
        ClientSpec(service, region, sdk_endpoint(endpoint) if endpoint else None),
        access_key=access_key,
        secret_key=secret_key,
        session_token=session_token,
        max_retries=config.max_retries,
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
    federation = config.federation_endpoint
    if federation and (
        "://" not in federation or not _valid_endpoint(federation) or "#" in federation
    ):
        raise InvalidRequest(
            f"invalid federation_endpoint {federation!r}: use the endpoint's full URL, such as "
            "https://signin.aws.amazon.com/federation"
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
