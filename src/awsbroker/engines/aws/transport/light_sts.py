"""A lighter STS client for the three calls that issue credentials (AssumeRole,
GetFederationToken, GetSessionToken): the second implementation of the `STS` protocol (api.py),
on the light query path (light_query.py: botocore's serializer, endpoint rules, retries and
error parsing; SigV4, HTTP and the success answers' parser done here).

`get_caller_identity` always goes to the boto3 client kept beside, and so do the three calls
when the configuration needs what the light path does not do (light_query.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from awsbroker.engines.aws.transport.api import ForwardingSTS
from awsbroker.engines.aws.transport.light_query import (
    LightQuery,
    NotRecognised,
    fields,
    result_of,
    timestamp,
)
from awsbroker.sdk.telemetry import Telemetry

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
# The answer's parts the strict parser reads, per operation: (element, keys).
_USER = {
    "AssumeRole": ("AssumedRoleUser", ("AssumedRoleId", "Arn")),
    "GetFederationToken": ("FederatedUser", ("FederatedUserId", "Arn")),
}
_CREDENTIAL_KEYS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


def parse_success(operation: str, body: bytes) -> dict[str, Any]:
    """AssumeRole's, GetFederationToken's or GetSessionToken's answer as boto3 returns it
    (without `ResponseMetadata`): Credentials (Expiration a UTC datetime), the assumed role
    or federated user, PackedPolicySize and SourceIdentity when present. Anything else in the
    answer's shape raises NotRecognised."""
    result = result_of(body, _NS, operation)
    if result is None:
        raise NotRecognised("no result")
    out: dict[str, Any] = {}
    for child in result:
        name = child.tag.removeprefix(_NS)
        if name == "Credentials":
            out[name] = _credentials(child)
        elif name == "PackedPolicySize":
            out[name] = int(child.text or "")
        elif name == "SourceIdentity":
            out[name] = child.text or ""
        elif operation in _USER and name == _USER[operation][0]:
            out[name] = fields(child, _NS, _USER[operation][1])
        else:
            raise NotRecognised(name)
    if "Credentials" not in out:
        raise NotRecognised("no credentials")
    return out


def _credentials(element: ET.Element) -> dict[str, Any]:
    values: dict[str, Any] = fields(element, _NS, (*_CREDENTIAL_KEYS, "Expiration"))
    values["Expiration"] = timestamp(values["Expiration"])
    return values


class LightSTS(LightQuery, ForwardingSTS):
    """The `STS` protocol on the light path, `client` (boto3's) beside it for the rest."""

    OPERATIONS = ("AssumeRole", "GetFederationToken", "GetSessionToken")

    def __init__(self, client: STSClient, telemetry: Telemetry) -> None:
        super().__init__(client, telemetry)

    def parse_success(self, operation: str, body: bytes) -> dict[str, Any]:
        return parse_success(operation, body)
