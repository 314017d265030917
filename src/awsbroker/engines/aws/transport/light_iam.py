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
from typing import TYPE_CHECKING, Any, Unpack

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
    from mypy_boto3_iam.type_defs import (
        AddUserToGroupRequestTypeDef,
        AttachRolePolicyRequestTypeDef,
        AttachUserPolicyRequestTypeDef,
        CreateAccessKeyRequestTypeDef,
        CreateAccessKeyResponseTypeDef,
        CreatePolicyRequestTypeDef,
        CreatePolicyResponseTypeDef,
        CreatePolicyVersionRequestTypeDef,
        CreatePolicyVersionResponseTypeDef,
        CreateUserRequestTypeDef,
        CreateUserResponseTypeDef,
        DeactivateMFADeviceRequestTypeDef,
        DeleteAccessKeyRequestTypeDef,
        DeleteLoginProfileRequestTypeDef,
        DeletePolicyRequestTypeDef,
        DeletePolicyVersionRequestTypeDef,
        DeleteRolePolicyRequestTypeDef,
        DeleteServiceSpecificCredentialRequestTypeDef,
        DeleteSigningCertificateRequestTypeDef,
        DeleteSSHPublicKeyRequestTypeDef,
        DeleteUserPolicyRequestTypeDef,
        DeleteUserRequestTypeDef,
        DeleteVirtualMFADeviceRequestTypeDef,
        DetachRolePolicyRequestTypeDef,
        DetachUserPolicyRequestTypeDef,
        EmptyResponseMetadataTypeDef,
        GetGroupPolicyRequestTypeDef,
        GetGroupPolicyResponseTypeDef,
        GetPolicyRequestTypeDef,
        GetPolicyResponseTypeDef,
        GetPolicyVersionRequestTypeDef,
        GetPolicyVersionResponseTypeDef,
        GetRolePolicyRequestTypeDef,
        GetRolePolicyResponseTypeDef,
        GetUserPolicyRequestTypeDef,
        GetUserPolicyResponseTypeDef,
        GetUserRequestTypeDef,
        GetUserResponseTypeDef,
        ListAccessKeysRequestTypeDef,
        ListAccessKeysResponseTypeDef,
        ListAttachedGroupPoliciesRequestTypeDef,
        ListAttachedGroupPoliciesResponseTypeDef,
        ListAttachedUserPoliciesRequestTypeDef,
        ListAttachedUserPoliciesResponseTypeDef,
        ListGroupPoliciesRequestTypeDef,
        ListGroupPoliciesResponseTypeDef,
        ListGroupsForUserRequestTypeDef,
        ListGroupsForUserResponseTypeDef,
        ListMFADevicesRequestTypeDef,
        ListMFADevicesResponseTypeDef,
        ListPolicyVersionsRequestTypeDef,
        ListPolicyVersionsResponseTypeDef,
        ListServiceSpecificCredentialsRequestTypeDef,
        ListServiceSpecificCredentialsResponseTypeDef,
        ListSigningCertificatesRequestTypeDef,
        ListSigningCertificatesResponseTypeDef,
        ListSSHPublicKeysRequestTypeDef,
        ListSSHPublicKeysResponseTypeDef,
        ListUserPoliciesRequestTypeDef,
        ListUserPoliciesResponseTypeDef,
        PutRolePolicyRequestTypeDef,
        PutUserPolicyRequestTypeDef,
        RemoveUserFromGroupRequestTypeDef,
    )

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


class LightIAM(LightQuery):
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
        self._client = client

    def parse_success(self, operation: str, body: bytes) -> dict[str, Any]:
        return parse_success(operation, body)

    def add_user_to_group(
        self, **kwargs: Unpack[AddUserToGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("AddUserToGroup", kwargs, self._client.add_user_to_group)

    def attach_role_policy(
        self, **kwargs: Unpack[AttachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.attach_role_policy(**kwargs)

    def attach_user_policy(
        self, **kwargs: Unpack[AttachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("AttachUserPolicy", kwargs, self._client.attach_user_policy)

    def create_access_key(
        self, **kwargs: Unpack[CreateAccessKeyRequestTypeDef]
    ) -> CreateAccessKeyResponseTypeDef:
        return self._run("CreateAccessKey", kwargs, self._client.create_access_key)

    def create_policy(
        self, **kwargs: Unpack[CreatePolicyRequestTypeDef]
    ) -> CreatePolicyResponseTypeDef:
        return self._client.create_policy(**kwargs)

    def create_policy_version(
        self, **kwargs: Unpack[CreatePolicyVersionRequestTypeDef]
    ) -> CreatePolicyVersionResponseTypeDef:
        return self._client.create_policy_version(**kwargs)

    def create_user(self, **kwargs: Unpack[CreateUserRequestTypeDef]) -> CreateUserResponseTypeDef:
        return self._run("CreateUser", kwargs, self._client.create_user)

    def deactivate_mfa_device(
        self, **kwargs: Unpack[DeactivateMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeactivateMFADevice", kwargs, self._client.deactivate_mfa_device)

    def delete_access_key(
        self, **kwargs: Unpack[DeleteAccessKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteAccessKey", kwargs, self._client.delete_access_key)

    def delete_login_profile(
        self, **kwargs: Unpack[DeleteLoginProfileRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteLoginProfile", kwargs, self._client.delete_login_profile)

    def delete_policy(
        self, **kwargs: Unpack[DeletePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.delete_policy(**kwargs)

    def delete_policy_version(
        self, **kwargs: Unpack[DeletePolicyVersionRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.delete_policy_version(**kwargs)

    def delete_role_policy(
        self, **kwargs: Unpack[DeleteRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.delete_role_policy(**kwargs)

    def delete_service_specific_credential(
        self, **kwargs: Unpack[DeleteServiceSpecificCredentialRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run(
            "DeleteServiceSpecificCredential",
            kwargs,
            self._client.delete_service_specific_credential,
        )

    def delete_signing_certificate(
        self, **kwargs: Unpack[DeleteSigningCertificateRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run(
            "DeleteSigningCertificate", kwargs, self._client.delete_signing_certificate
        )

    def delete_ssh_public_key(
        self, **kwargs: Unpack[DeleteSSHPublicKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteSSHPublicKey", kwargs, self._client.delete_ssh_public_key)

    def delete_user(
        self, **kwargs: Unpack[DeleteUserRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteUser", kwargs, self._client.delete_user)

    def delete_user_policy(
        self, **kwargs: Unpack[DeleteUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteUserPolicy", kwargs, self._client.delete_user_policy)

    def delete_virtual_mfa_device(
        self, **kwargs: Unpack[DeleteVirtualMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DeleteVirtualMFADevice", kwargs, self._client.delete_virtual_mfa_device)

    def detach_role_policy(
        self, **kwargs: Unpack[DetachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.detach_role_policy(**kwargs)

    def detach_user_policy(
        self, **kwargs: Unpack[DetachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("DetachUserPolicy", kwargs, self._client.detach_user_policy)

    def get_group_policy(
        self, **kwargs: Unpack[GetGroupPolicyRequestTypeDef]
    ) -> GetGroupPolicyResponseTypeDef:
        return self._client.get_group_policy(**kwargs)

    def get_policy(self, **kwargs: Unpack[GetPolicyRequestTypeDef]) -> GetPolicyResponseTypeDef:
        return self._client.get_policy(**kwargs)

    def get_policy_version(
        self, **kwargs: Unpack[GetPolicyVersionRequestTypeDef]
    ) -> GetPolicyVersionResponseTypeDef:
        return self._client.get_policy_version(**kwargs)

    def get_role_policy(
        self, **kwargs: Unpack[GetRolePolicyRequestTypeDef]
    ) -> GetRolePolicyResponseTypeDef:
        return self._client.get_role_policy(**kwargs)

    def get_user(self, **kwargs: Unpack[GetUserRequestTypeDef]) -> GetUserResponseTypeDef:
        return self._client.get_user(**kwargs)

    def get_user_policy(
        self, **kwargs: Unpack[GetUserPolicyRequestTypeDef]
    ) -> GetUserPolicyResponseTypeDef:
        return self._client.get_user_policy(**kwargs)

    def list_access_keys(
        self, **kwargs: Unpack[ListAccessKeysRequestTypeDef]
    ) -> ListAccessKeysResponseTypeDef:
        return self._run("ListAccessKeys", kwargs, self._client.list_access_keys)

    def list_attached_group_policies(
        self, **kwargs: Unpack[ListAttachedGroupPoliciesRequestTypeDef]
    ) -> ListAttachedGroupPoliciesResponseTypeDef:
        return self._client.list_attached_group_policies(**kwargs)

    def list_attached_user_policies(
        self, **kwargs: Unpack[ListAttachedUserPoliciesRequestTypeDef]
    ) -> ListAttachedUserPoliciesResponseTypeDef:
        return self._run(
            "ListAttachedUserPolicies", kwargs, self._client.list_attached_user_policies
        )

    def list_group_policies(
        self, **kwargs: Unpack[ListGroupPoliciesRequestTypeDef]
    ) -> ListGroupPoliciesResponseTypeDef:
        return self._client.list_group_policies(**kwargs)

    def list_groups_for_user(
        self, **kwargs: Unpack[ListGroupsForUserRequestTypeDef]
    ) -> ListGroupsForUserResponseTypeDef:
        return self._run("ListGroupsForUser", kwargs, self._client.list_groups_for_user)

    def list_mfa_devices(
        self, **kwargs: Unpack[ListMFADevicesRequestTypeDef]
    ) -> ListMFADevicesResponseTypeDef:
        return self._run("ListMFADevices", kwargs, self._client.list_mfa_devices)

    def list_policy_versions(
        self, **kwargs: Unpack[ListPolicyVersionsRequestTypeDef]
    ) -> ListPolicyVersionsResponseTypeDef:
        return self._client.list_policy_versions(**kwargs)

    def list_service_specific_credentials(
        self, **kwargs: Unpack[ListServiceSpecificCredentialsRequestTypeDef]
    ) -> ListServiceSpecificCredentialsResponseTypeDef:
        return self._run(
            "ListServiceSpecificCredentials", kwargs, self._client.list_service_specific_credentials
        )

    def list_signing_certificates(
        self, **kwargs: Unpack[ListSigningCertificatesRequestTypeDef]
    ) -> ListSigningCertificatesResponseTypeDef:
        return self._run("ListSigningCertificates", kwargs, self._client.list_signing_certificates)

    def list_ssh_public_keys(
        self, **kwargs: Unpack[ListSSHPublicKeysRequestTypeDef]
    ) -> ListSSHPublicKeysResponseTypeDef:
        return self._run("ListSSHPublicKeys", kwargs, self._client.list_ssh_public_keys)

    def list_user_policies(
        self, **kwargs: Unpack[ListUserPoliciesRequestTypeDef]
    ) -> ListUserPoliciesResponseTypeDef:
        return self._run("ListUserPolicies", kwargs, self._client.list_user_policies)

    def put_role_policy(
        self, **kwargs: Unpack[PutRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._client.put_role_policy(**kwargs)

    def put_user_policy(
        self, **kwargs: Unpack[PutUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("PutUserPolicy", kwargs, self._client.put_user_policy)

    def remove_user_from_group(
        self, **kwargs: Unpack[RemoveUserFromGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._run("RemoveUserFromGroup", kwargs, self._client.remove_user_from_group)
