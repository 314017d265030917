"""What the engine asks of AWS: exactly the IAM and STS operations it calls, typed with the
boto3-stubs request and response TypedDicts (the same signatures as boto3's clients, so a boto3
client is one implementation; the light path (light_iam.py, light_sts.py) is another, built on
`ForwardingIAM`/`ForwardingSTS` below, and the engine's unit tests may bring one more).

Request and response types the engine builds or reads are named here too, so nothing outside
this package imports boto3, botocore or their stubs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, Unpack

if TYPE_CHECKING:
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
        ListAttachedRolePoliciesRequestTypeDef,
        ListAttachedRolePoliciesResponseTypeDef,
        ListAttachedUserPoliciesRequestTypeDef,
        ListAttachedUserPoliciesResponseTypeDef,
        ListGroupPoliciesRequestTypeDef,
        ListGroupPoliciesResponseTypeDef,
        ListGroupsForUserRequestTypeDef,
        ListGroupsForUserResponseTypeDef,
        ListMFADevicesRequestTypeDef,
        ListMFADevicesResponseTypeDef,
        ListPoliciesRequestTypeDef,
        ListPoliciesResponseTypeDef,
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
    from mypy_boto3_sts.type_defs import (
        AssumeRoleRequestTypeDef,
        AssumeRoleResponseTypeDef,
        CredentialsTypeDef,
        GetCallerIdentityResponseTypeDef,
        GetFederationTokenRequestTypeDef,
        GetFederationTokenResponseTypeDef,
        GetSessionTokenRequestTypeDef,
        GetSessionTokenResponseTypeDef,
        PolicyDescriptorTypeTypeDef,
        TagTypeDef,
    )

    # The names the engine uses for what it builds and reads.
    AssumeRoleRequest = AssumeRoleRequestTypeDef
    CreateUserRequest = CreateUserRequestTypeDef
    Credentials = CredentialsTypeDef
    FederationTokenRequest = GetFederationTokenRequestTypeDef
    PolicyDescriptor = PolicyDescriptorTypeTypeDef
    SessionTokenRequest = GetSessionTokenRequestTypeDef
    StsTag = TagTypeDef


_R = TypeVar("_R")


class IAM(Protocol):
    """The IAM operations the engine calls."""

    def add_user_to_group(
        self, **kwargs: Unpack[AddUserToGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def attach_user_policy(
        self, **kwargs: Unpack[AttachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def create_access_key(
        self, **kwargs: Unpack[CreateAccessKeyRequestTypeDef]
    ) -> CreateAccessKeyResponseTypeDef: ...

    def create_user(
        self, **kwargs: Unpack[CreateUserRequestTypeDef]
    ) -> CreateUserResponseTypeDef: ...

    def deactivate_mfa_device(
        self, **kwargs: Unpack[DeactivateMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_access_key(
        self, **kwargs: Unpack[DeleteAccessKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_login_profile(
        self, **kwargs: Unpack[DeleteLoginProfileRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_service_specific_credential(
        self, **kwargs: Unpack[DeleteServiceSpecificCredentialRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_signing_certificate(
        self, **kwargs: Unpack[DeleteSigningCertificateRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_ssh_public_key(
        self, **kwargs: Unpack[DeleteSSHPublicKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_user(
        self, **kwargs: Unpack[DeleteUserRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_role_policy(
        self, **kwargs: Unpack[DeleteRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_user_policy(
        self, **kwargs: Unpack[DeleteUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_virtual_mfa_device(
        self, **kwargs: Unpack[DeleteVirtualMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def detach_user_policy(
        self, **kwargs: Unpack[DetachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def get_group_policy(
        self, **kwargs: Unpack[GetGroupPolicyRequestTypeDef]
    ) -> GetGroupPolicyResponseTypeDef: ...

    def get_role_policy(
        self, **kwargs: Unpack[GetRolePolicyRequestTypeDef]
    ) -> GetRolePolicyResponseTypeDef: ...

    def get_user(self, **kwargs: Unpack[GetUserRequestTypeDef]) -> GetUserResponseTypeDef: ...

    def get_user_policy(
        self, **kwargs: Unpack[GetUserPolicyRequestTypeDef]
    ) -> GetUserPolicyResponseTypeDef: ...

    def list_access_keys(
        self, **kwargs: Unpack[ListAccessKeysRequestTypeDef]
    ) -> ListAccessKeysResponseTypeDef: ...

    def list_attached_group_policies(
        self, **kwargs: Unpack[ListAttachedGroupPoliciesRequestTypeDef]
    ) -> ListAttachedGroupPoliciesResponseTypeDef: ...

    def list_attached_role_policies(
        self, **kwargs: Unpack[ListAttachedRolePoliciesRequestTypeDef]
    ) -> ListAttachedRolePoliciesResponseTypeDef: ...

    def list_attached_user_policies(
        self, **kwargs: Unpack[ListAttachedUserPoliciesRequestTypeDef]
    ) -> ListAttachedUserPoliciesResponseTypeDef: ...

    def list_policies(
        self, **kwargs: Unpack[ListPoliciesRequestTypeDef]
    ) -> ListPoliciesResponseTypeDef: ...

    def list_group_policies(
        self, **kwargs: Unpack[ListGroupPoliciesRequestTypeDef]
    ) -> ListGroupPoliciesResponseTypeDef: ...

    def list_groups_for_user(
        self, **kwargs: Unpack[ListGroupsForUserRequestTypeDef]
    ) -> ListGroupsForUserResponseTypeDef: ...

    def list_mfa_devices(
        self, **kwargs: Unpack[ListMFADevicesRequestTypeDef]
    ) -> ListMFADevicesResponseTypeDef: ...

    def list_service_specific_credentials(
        self, **kwargs: Unpack[ListServiceSpecificCredentialsRequestTypeDef]
    ) -> ListServiceSpecificCredentialsResponseTypeDef: ...

    def list_signing_certificates(
        self, **kwargs: Unpack[ListSigningCertificatesRequestTypeDef]
    ) -> ListSigningCertificatesResponseTypeDef: ...

    def list_ssh_public_keys(
        self, **kwargs: Unpack[ListSSHPublicKeysRequestTypeDef]
    ) -> ListSSHPublicKeysResponseTypeDef: ...

    def list_user_policies(
        self, **kwargs: Unpack[ListUserPoliciesRequestTypeDef]
    ) -> ListUserPoliciesResponseTypeDef: ...

    def put_role_policy(
        self, **kwargs: Unpack[PutRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def put_user_policy(
        self, **kwargs: Unpack[PutUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def attach_role_policy(
        self, **kwargs: Unpack[AttachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def detach_role_policy(
        self, **kwargs: Unpack[DetachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def create_policy(
        self, **kwargs: Unpack[CreatePolicyRequestTypeDef]
    ) -> CreatePolicyResponseTypeDef: ...

    def create_policy_version(
        self, **kwargs: Unpack[CreatePolicyVersionRequestTypeDef]
    ) -> CreatePolicyVersionResponseTypeDef: ...

    def list_policy_versions(
        self, **kwargs: Unpack[ListPolicyVersionsRequestTypeDef]
    ) -> ListPolicyVersionsResponseTypeDef: ...

    def get_policy(self, **kwargs: Unpack[GetPolicyRequestTypeDef]) -> GetPolicyResponseTypeDef: ...

    def get_policy_version(
        self, **kwargs: Unpack[GetPolicyVersionRequestTypeDef]
    ) -> GetPolicyVersionResponseTypeDef: ...

    def delete_policy_version(
        self, **kwargs: Unpack[DeletePolicyVersionRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def delete_policy(
        self, **kwargs: Unpack[DeletePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def remove_user_from_group(
        self, **kwargs: Unpack[RemoveUserFromGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef: ...

    def close(self) -> None:
        """Release the client's connections."""
        ...


class STS(Protocol):
    """The STS operations the engine calls."""

    def assume_role(
        self, **kwargs: Unpack[AssumeRoleRequestTypeDef]
    ) -> AssumeRoleResponseTypeDef: ...

    def get_caller_identity(self) -> GetCallerIdentityResponseTypeDef: ...

    def get_federation_token(
        self, **kwargs: Unpack[GetFederationTokenRequestTypeDef]
    ) -> GetFederationTokenResponseTypeDef: ...

    def get_session_token(
        self, **kwargs: Unpack[GetSessionTokenRequestTypeDef]
    ) -> GetSessionTokenResponseTypeDef: ...

    def close(self) -> None:
        """Release the client's connections."""
        ...


class ForwardingIAM(IAM):
    """The `IAM` protocol with each call handed to `_forward`, with the protocol's method (its
    name and its typed answer) and the keyword arguments: the one typed list of the operations
    for the implementations that route calls rather than make them (the light path,
    `light_iam.py`)."""

    def _forward(self, operation: Callable[..., _R], kwargs: Mapping[str, object]) -> _R:
        raise NotImplementedError

    def add_user_to_group(
        self, **kwargs: Unpack[AddUserToGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.add_user_to_group, kwargs)

    def attach_user_policy(
        self, **kwargs: Unpack[AttachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.attach_user_policy, kwargs)

    def create_access_key(
        self, **kwargs: Unpack[CreateAccessKeyRequestTypeDef]
    ) -> CreateAccessKeyResponseTypeDef:
        return self._forward(IAM.create_access_key, kwargs)

    def create_user(self, **kwargs: Unpack[CreateUserRequestTypeDef]) -> CreateUserResponseTypeDef:
        return self._forward(IAM.create_user, kwargs)

    def deactivate_mfa_device(
        self, **kwargs: Unpack[DeactivateMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.deactivate_mfa_device, kwargs)

    def delete_access_key(
        self, **kwargs: Unpack[DeleteAccessKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_access_key, kwargs)

    def delete_login_profile(
        self, **kwargs: Unpack[DeleteLoginProfileRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_login_profile, kwargs)

    def delete_service_specific_credential(
        self, **kwargs: Unpack[DeleteServiceSpecificCredentialRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_service_specific_credential, kwargs)

    def delete_signing_certificate(
        self, **kwargs: Unpack[DeleteSigningCertificateRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_signing_certificate, kwargs)

    def delete_ssh_public_key(
        self, **kwargs: Unpack[DeleteSSHPublicKeyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_ssh_public_key, kwargs)

    def delete_user(
        self, **kwargs: Unpack[DeleteUserRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_user, kwargs)

    def delete_role_policy(
        self, **kwargs: Unpack[DeleteRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_role_policy, kwargs)

    def delete_user_policy(
        self, **kwargs: Unpack[DeleteUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_user_policy, kwargs)

    def delete_virtual_mfa_device(
        self, **kwargs: Unpack[DeleteVirtualMFADeviceRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_virtual_mfa_device, kwargs)

    def detach_user_policy(
        self, **kwargs: Unpack[DetachUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.detach_user_policy, kwargs)

    def get_group_policy(
        self, **kwargs: Unpack[GetGroupPolicyRequestTypeDef]
    ) -> GetGroupPolicyResponseTypeDef:
        return self._forward(IAM.get_group_policy, kwargs)

    def get_role_policy(
        self, **kwargs: Unpack[GetRolePolicyRequestTypeDef]
    ) -> GetRolePolicyResponseTypeDef:
        return self._forward(IAM.get_role_policy, kwargs)

    def get_user(self, **kwargs: Unpack[GetUserRequestTypeDef]) -> GetUserResponseTypeDef:
        return self._forward(IAM.get_user, kwargs)

    def get_user_policy(
        self, **kwargs: Unpack[GetUserPolicyRequestTypeDef]
    ) -> GetUserPolicyResponseTypeDef:
        return self._forward(IAM.get_user_policy, kwargs)

    def list_access_keys(
        self, **kwargs: Unpack[ListAccessKeysRequestTypeDef]
    ) -> ListAccessKeysResponseTypeDef:
        return self._forward(IAM.list_access_keys, kwargs)

    def list_attached_group_policies(
        self, **kwargs: Unpack[ListAttachedGroupPoliciesRequestTypeDef]
    ) -> ListAttachedGroupPoliciesResponseTypeDef:
        return self._forward(IAM.list_attached_group_policies, kwargs)

    def list_attached_role_policies(
        self, **kwargs: Unpack[ListAttachedRolePoliciesRequestTypeDef]
    ) -> ListAttachedRolePoliciesResponseTypeDef:
        return self._forward(IAM.list_attached_role_policies, kwargs)

    def list_attached_user_policies(
        self, **kwargs: Unpack[ListAttachedUserPoliciesRequestTypeDef]
    ) -> ListAttachedUserPoliciesResponseTypeDef:
        return self._forward(IAM.list_attached_user_policies, kwargs)

    def list_policies(
        self, **kwargs: Unpack[ListPoliciesRequestTypeDef]
    ) -> ListPoliciesResponseTypeDef:
        return self._forward(IAM.list_policies, kwargs)

    def list_group_policies(
        self, **kwargs: Unpack[ListGroupPoliciesRequestTypeDef]
    ) -> ListGroupPoliciesResponseTypeDef:
        return self._forward(IAM.list_group_policies, kwargs)

    def list_groups_for_user(
        self, **kwargs: Unpack[ListGroupsForUserRequestTypeDef]
    ) -> ListGroupsForUserResponseTypeDef:
        return self._forward(IAM.list_groups_for_user, kwargs)

    def list_mfa_devices(
        self, **kwargs: Unpack[ListMFADevicesRequestTypeDef]
    ) -> ListMFADevicesResponseTypeDef:
        return self._forward(IAM.list_mfa_devices, kwargs)

    def list_service_specific_credentials(
        self, **kwargs: Unpack[ListServiceSpecificCredentialsRequestTypeDef]
    ) -> ListServiceSpecificCredentialsResponseTypeDef:
        return self._forward(IAM.list_service_specific_credentials, kwargs)

    def list_signing_certificates(
        self, **kwargs: Unpack[ListSigningCertificatesRequestTypeDef]
    ) -> ListSigningCertificatesResponseTypeDef:
        return self._forward(IAM.list_signing_certificates, kwargs)

    def list_ssh_public_keys(
        self, **kwargs: Unpack[ListSSHPublicKeysRequestTypeDef]
    ) -> ListSSHPublicKeysResponseTypeDef:
        return self._forward(IAM.list_ssh_public_keys, kwargs)

    def list_user_policies(
        self, **kwargs: Unpack[ListUserPoliciesRequestTypeDef]
    ) -> ListUserPoliciesResponseTypeDef:
        return self._forward(IAM.list_user_policies, kwargs)

    def put_role_policy(
        self, **kwargs: Unpack[PutRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.put_role_policy, kwargs)

    def put_user_policy(
        self, **kwargs: Unpack[PutUserPolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.put_user_policy, kwargs)

    def attach_role_policy(
        self, **kwargs: Unpack[AttachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.attach_role_policy, kwargs)

    def detach_role_policy(
        self, **kwargs: Unpack[DetachRolePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.detach_role_policy, kwargs)

    def create_policy(
        self, **kwargs: Unpack[CreatePolicyRequestTypeDef]
    ) -> CreatePolicyResponseTypeDef:
        return self._forward(IAM.create_policy, kwargs)

    def create_policy_version(
        self, **kwargs: Unpack[CreatePolicyVersionRequestTypeDef]
    ) -> CreatePolicyVersionResponseTypeDef:
        return self._forward(IAM.create_policy_version, kwargs)

    def list_policy_versions(
        self, **kwargs: Unpack[ListPolicyVersionsRequestTypeDef]
    ) -> ListPolicyVersionsResponseTypeDef:
        return self._forward(IAM.list_policy_versions, kwargs)

    def get_policy(self, **kwargs: Unpack[GetPolicyRequestTypeDef]) -> GetPolicyResponseTypeDef:
        return self._forward(IAM.get_policy, kwargs)

    def get_policy_version(
        self, **kwargs: Unpack[GetPolicyVersionRequestTypeDef]
    ) -> GetPolicyVersionResponseTypeDef:
        return self._forward(IAM.get_policy_version, kwargs)

    def delete_policy_version(
        self, **kwargs: Unpack[DeletePolicyVersionRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_policy_version, kwargs)

    def delete_policy(
        self, **kwargs: Unpack[DeletePolicyRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.delete_policy, kwargs)

    def remove_user_from_group(
        self, **kwargs: Unpack[RemoveUserFromGroupRequestTypeDef]
    ) -> EmptyResponseMetadataTypeDef:
        return self._forward(IAM.remove_user_from_group, kwargs)


class ForwardingSTS(STS):
    """The `STS` protocol with each call handed to `_forward`, as `ForwardingIAM`."""

    def _forward(self, operation: Callable[..., _R], kwargs: Mapping[str, object]) -> _R:
        raise NotImplementedError

    def assume_role(self, **kwargs: Unpack[AssumeRoleRequestTypeDef]) -> AssumeRoleResponseTypeDef:
        return self._forward(STS.assume_role, kwargs)

    def get_caller_identity(self) -> GetCallerIdentityResponseTypeDef:
        return self._forward(STS.get_caller_identity, {})

    def get_federation_token(
        self, **kwargs: Unpack[GetFederationTokenRequestTypeDef]
    ) -> GetFederationTokenResponseTypeDef:
        return self._forward(STS.get_federation_token, kwargs)

    def get_session_token(
        self, **kwargs: Unpack[GetSessionTokenRequestTypeDef]
    ) -> GetSessionTokenResponseTypeDef:
        return self._forward(STS.get_session_token, kwargs)


class Federation(Protocol):
    """AWS's sign-in federation endpoint (console sign-in, issue 19): `getSigninToken`, which
    trades an STS session's credentials for a sign-in token. Plain HTTPS, not a signed API
    call (federation.py)."""

    def signin_token(
        self, endpoint: str, session: dict[str, str], session_duration: int | None
    ) -> str:
        """The `SigninToken` for `session` ({sessionId, sessionKey, sessionToken});
        `session_duration` is sent as `SessionDuration` unless None. Raises `FederationError`."""
        ...
