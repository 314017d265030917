"""What the engine asks of AWS: exactly the IAM and STS operations it calls, typed with the
boto3-stubs request and response TypedDicts (the same signatures as boto3's clients, so a boto3
client is one implementation; the helper processes' proxies (pool.py) are another, and the
engine's unit tests may bring a third).

Request and response types the engine builds or reads are named here too, so nothing outside
this package imports boto3, botocore or their stubs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Unpack

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

    def list_attached_user_policies(
        self, **kwargs: Unpack[ListAttachedUserPoliciesRequestTypeDef]
    ) -> ListAttachedUserPoliciesResponseTypeDef: ...

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
        """Release the client's connections (a no-op for the helpers' proxies)."""
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
        """Release the client's connections (a no-op for the helpers' proxies)."""
        ...


IAM_OPERATIONS = frozenset(name for name in vars(IAM) if not name.startswith("_")) - {"close"}
STS_OPERATIONS = frozenset(name for name in vars(STS) if not name.startswith("_")) - {"close"}


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
