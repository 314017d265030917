"""A lighter IAM client for the calls that issue and revoke `iam_user` credentials: the second
implementation of the `IAM` protocol (api.py), on the light query path (light_query.py:
botocore's serializer, endpoint rules, retries and error parsing; SigV4, HTTP and the success
answers' parser done here).

IAM is a global service: botocore's endpoint rules give its endpoint (`iam.amazonaws.com`, or
FIPS, or another partition's) and signing region (us-east-1 in the aws partition); both are
taken from them, as for STS.

On the light path (`LightIAM.OPERATIONS`): issuance's CreateUser (tags included),
AttachUserPolicy, PutUserPolicy, AddUserToGroup and CreateAccessKey, and revocation's calls
(iam_user.delete_user). The strict parser reads CreateUser's and CreateAccessKey's answers and
the answers that carry nothing (the puts, attaches and deletes); the listings are read by
botocore's parser. Every other operation of the protocol goes to the boto3 client kept beside,
and so does every operation when the configuration needs what the light path does not do.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from awsbroker.engines.aws.transport.api import ForwardingIAM
from awsbroker.engines.aws.transport.light_query import (
    LightQuery,
    NotRecognised,
    fields,
    result_of,
    timestamp,
)
from awsbroker.sdk.telemetry import Telemetry

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
# Answers with no result: the strict parser gives {} for them, as botocore does.
_EMPTY = frozenset({
    "PutUserPolicy", "AttachUserPolicy", "AddUserToGroup", "DeleteAccessKey", "DetachUserPolicy",
    "DeleteUserPolicy", "RemoveUserFromGroup", "DeleteLoginProfile", "DeactivateMFADevice",
    "DeleteVirtualMFADevice", "DeleteSigningCertificate", "DeleteSSHPublicKey",
    "DeleteServiceSpecificCredential", "DeleteUser",
})  # fmt: skip
_USER_KEYS = ("Path", "UserName", "UserId", "Arn", "CreateDate")
_ACCESS_KEY_KEYS = ("UserName", "AccessKeyId", "Status", "SecretAccessKey")
_BOUNDARY_KEYS = ("PermissionsBoundaryType", "PermissionsBoundaryArn")


def parse_success(operation: str, body: bytes) -> dict[str, Any]:
    """The success answer of CreateUser (`User`: its names, ids, dates, permissions boundary
    and tags), CreateAccessKey (`AccessKey`) or an action that returns nothing ({}), as boto3
    returns it without `ResponseMetadata`. Any other operation or shape raises NotRecognised."""
    if operation not in _EMPTY and operation not in ("CreateUser", "CreateAccessKey"):
        raise NotRecognised(operation)
    result = result_of(body, _NS, operation)
    if operation in _EMPTY:
        if result is not None and len(result):
            raise NotRecognised("unexpected result")
        return {}
    if result is None or len(result) != 1:
        raise NotRecognised("no result")
    (child,) = result
    if operation == "CreateUser" and child.tag == f"{_NS}User":
        return {"User": _user(child)}
    if operation == "CreateAccessKey" and child.tag == f"{_NS}AccessKey":
        return {"AccessKey": _access_key(child)}
    raise NotRecognised(child.tag)


def _user(element: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        name = child.tag.removeprefix(_NS)
        if name in out:
            raise NotRecognised(name)
        if name in ("CreateDate", "PasswordLastUsed"):
            out[name] = timestamp(child.text or "")
        elif name in _USER_KEYS:
            out[name] = child.text or ""
        elif name == "PermissionsBoundary":
            out[name] = fields(child, _NS, _BOUNDARY_KEYS)
        elif name == "Tags":
            out[name] = [_tag(member) for member in child]
        else:
            raise NotRecognised(name)
    if not all(key in out for key in _USER_KEYS):
        raise NotRecognised("incomplete user")
    return out


def _tag(member: ET.Element) -> dict[str, str]:
    if member.tag != f"{_NS}member":
        raise NotRecognised(member.tag)
    return fields(member, _NS, ("Key", "Value"))


def _access_key(element: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {child.tag.removeprefix(_NS): child.text or "" for child in element}
    known = {*_ACCESS_KEY_KEYS, "CreateDate"}
    if len(out) != len(element) or not set(_ACCESS_KEY_KEYS) <= set(out) <= known:
        raise NotRecognised("access key")
    if "CreateDate" in out:
        out["CreateDate"] = timestamp(out["CreateDate"])
    return out


class LightIAM(LightQuery, ForwardingIAM):
    """The `IAM` protocol: the iam_user calls on the light path, `client` (boto3's) beside it
    for the rest."""

    OPERATIONS = (
        # issuing (iam_user.create)
        "CreateUser", "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey",
        # revoking (iam_user.delete_user)
        "ListGroupsForUser", "ListUserPolicies", "ListAttachedUserPolicies", "ListAccessKeys",
        "DeleteAccessKey", "DetachUserPolicy", "DeleteUserPolicy", "RemoveUserFromGroup",
        "DeleteLoginProfile", "ListMFADevices", "DeactivateMFADevice", "DeleteVirtualMFADevice",
        "ListSigningCertificates", "DeleteSigningCertificate", "ListSSHPublicKeys",
        "DeleteSSHPublicKey", "ListServiceSpecificCredentials",
        "DeleteServiceSpecificCredential", "DeleteUser",
    )  # fmt: skip

    def __init__(self, client: IAMClient, telemetry: Telemetry) -> None:
        super().__init__(client, telemetry)

    def parse_success(self, operation: str, body: bytes) -> dict[str, Any]:
        return parse_success(operation, body)
