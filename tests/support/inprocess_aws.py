"""An in-process fake of the engine's AWS protocols (`transport/api.py`): IAM users, their
keys, policies and groups, and the STS calls, in dictionaries, with AWS's error codes raised as
botocore's `ClientError` (what the engine catches). For engine unit tests that need no HTTP,
no signing and no moto; the end-to-end tests against moto and the recording proxy remain the
proof of behaviour against AWS.

`InProcessAWS` is a `ClientMaker`: pass it as `AWSBackend(config, calls=...)`. `fail(op, code)`
makes the next calls of an operation fail; `calls` records every operation with its arguments.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions

from awsbroker.engines.aws.transport.api import IAM, STS
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.sdk.telemetry import Telemetry

ACCOUNT = "123456789012"
_OK: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": 200}}


def aws_error(operation: str, code: str, status: int = 400, message: str = "") -> Exception:
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": message or code},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


@dataclass
class User:
    name: str
    path: str
    keys: dict[str, str] = field(default_factory=dict)  # access key ID -> secret
    attached: list[str] = field(default_factory=list)
    inline: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    tags: list[Mapping[str, str]] = field(default_factory=list)
    boundary: str = ""


class InProcessAWS:
    """The account: its users, groups and keys, shared by every client it makes."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.groups: dict[str, tuple[list[str], dict[str, str]]] = {}  # attached, inline
        self.role_policies: dict[tuple[str, str], str] = {}  # (role, policy name) -> document
        self.managed: dict[str, dict[str, str]] = {}  # policy ARN -> version id -> document
        self.role_attached: dict[str, list[str]] = {}  # role -> attached policy ARNs
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, list[Exception]] = {}
        self._ids = itertools.count(1)

    # ---- ClientMaker
    def iam(self, spec: ClientSpec, telemetry: Telemetry) -> FakeIAM:
        return FakeIAM(self, spec)

    def sts(self, spec: ClientSpec, telemetry: Telemetry) -> FakeSTS:
        return FakeSTS(self, spec)

    # ---- test controls
    def fail(self, operation: str, code: str, status: int = 400, times: int = 1) -> None:
        self._faults.setdefault(operation, []).extend(
            aws_error(operation, code, status) for _ in range(times)
        )

    def names(self, operation: str) -> list[dict[str, Any]]:
        return [args for op, args in self.calls if op == operation]

    def key_owner(self, access_key: str) -> User | None:
        return next((u for u in self.users.values() if access_key in u.keys), None)

    # ---- shared by the clients
    def enter(self, operation: str, args: Mapping[str, Any]) -> None:
        self.calls.append((operation, dict(args)))
        faults = self._faults.get(operation)
        if faults:
            raise faults.pop(0)

    def user(self, operation: str, name: str) -> User:
        if name not in self.users:
            raise aws_error(operation, "NoSuchEntity", 404, f"The user {name} cannot be found.")
        return self.users[name]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):016d}"


class FakeIAM(IAM):
    def __init__(self, aws: InProcessAWS, spec: ClientSpec) -> None:
        self.aws, self.spec = aws, spec

    def _user(self, operation: str, kwargs: Mapping[str, Any]) -> User:
        self.aws.enter(operation, kwargs)
        return self.aws.user(operation, kwargs["UserName"])

    def create_user(self, **kwargs: Any) -> Any:
        self.aws.enter("CreateUser", kwargs)
        name = kwargs["UserName"]
        if name in self.aws.users:
            raise aws_error("CreateUser", "EntityAlreadyExists", 409)
        self.aws.users[name] = User(
            name, kwargs.get("Path", "/"), tags=list(kwargs.get("Tags", [])),
            boundary=kwargs.get("PermissionsBoundary", ""),
        )  # fmt: skip
        return {"User": {"UserName": name, "Path": kwargs.get("Path", "/")}, **_OK}

    def get_user(self, **kwargs: Any) -> Any:
        user = self._user("GetUser", kwargs)
        return {"User": {"UserName": user.name, "UserId": "AID" + user.name.upper()}, **_OK}

    def delete_user(self, **kwargs: Any) -> Any:
        user = self._user("DeleteUser", kwargs)
        if user.keys or user.attached or user.inline or user.groups:
            raise aws_error("DeleteUser", "DeleteConflict", 409)
        del self.aws.users[user.name]
        return _OK

    def attach_user_policy(self, **kwargs: Any) -> Any:
        self._user("AttachUserPolicy", kwargs).attached.append(kwargs["PolicyArn"])
        return _OK

    def detach_user_policy(self, **kwargs: Any) -> Any:
        self._user("DetachUserPolicy", kwargs).attached.remove(kwargs["PolicyArn"])
        return _OK

    def list_attached_user_policies(self, **kwargs: Any) -> Any:
        user = self._user("ListAttachedUserPolicies", kwargs)
        return {"AttachedPolicies": [{"PolicyArn": a} for a in user.attached], **_OK}

    def list_attached_role_policies(self, **kwargs: Any) -> Any:
        self.aws.enter("ListAttachedRolePolicies", kwargs)
        prefix = kwargs.get("PathPrefix", "/")
        attached = self.aws.role_attached.get(kwargs["RoleName"], [])
        listed = [{"PolicyArn": a} for a in attached if a.split(":policy", 1)[1].startswith(prefix)]
        return {"AttachedPolicies": listed, "IsTruncated": False, **_OK}

    def list_policies(self, **kwargs: Any) -> Any:
        self.aws.enter("ListPolicies", kwargs)
        prefix = kwargs.get("PathPrefix", "/")
        listed = [
            {"Arn": arn, "PolicyName": arn.rsplit("/", 1)[1]}
            for arn in self.aws.managed
            if arn.split(":policy", 1)[1].startswith(prefix)
        ]
        return {"Policies": listed, "IsTruncated": False, **_OK}

    def put_user_policy(self, **kwargs: Any) -> Any:
        user = self._user("PutUserPolicy", kwargs)
        user.inline[kwargs["PolicyName"]] = kwargs["PolicyDocument"]
        return _OK

    def delete_user_policy(self, **kwargs: Any) -> Any:
        del self._user("DeleteUserPolicy", kwargs).inline[kwargs["PolicyName"]]
        return _OK

    def put_role_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("PutRolePolicy", kwargs)
        self.aws.role_policies[(kwargs["RoleName"], kwargs["PolicyName"])] = kwargs[
            "PolicyDocument"
        ]
        return _OK

    def get_role_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("GetRolePolicy", kwargs)
        key = (kwargs["RoleName"], kwargs["PolicyName"])
        if key not in self.aws.role_policies:
            raise aws_error("GetRolePolicy", "NoSuchEntity", 404)
        return {"PolicyDocument": self.aws.role_policies[key], **_OK}

    def get_user_policy(self, **kwargs: Any) -> Any:
        user = self._user("GetUserPolicy", kwargs)
        if kwargs["PolicyName"] not in user.inline:
            raise aws_error("GetUserPolicy", "NoSuchEntity", 404)
        return {"PolicyDocument": user.inline[kwargs["PolicyName"]], **_OK}

    def create_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("CreatePolicy", kwargs)
        arn = f"arn:aws:iam::123456789012:policy{kwargs.get('Path', '/')}{kwargs['PolicyName']}"
        if arn in self.aws.managed:
            raise aws_error("CreatePolicy", "EntityAlreadyExists", 409)
        self.aws.managed[arn] = {"v1": kwargs["PolicyDocument"]}
        return {"Policy": {"Arn": arn, "PolicyName": kwargs["PolicyName"]}, **_OK}

    def _policy(self, operation: str, kwargs: Mapping[str, Any]) -> dict[str, str]:
        self.aws.enter(operation, kwargs)
        if kwargs["PolicyArn"] not in self.aws.managed:
            raise aws_error(operation, "NoSuchEntity", 404)
        return self.aws.managed[kwargs["PolicyArn"]]

    def create_policy_version(self, **kwargs: Any) -> Any:
        versions = self._policy("CreatePolicyVersion", kwargs)
        version = f"v{max(int(v[1:]) for v in versions) + 1}"
        versions[version] = kwargs["PolicyDocument"]
        return {"PolicyVersion": {"VersionId": version, "IsDefaultVersion": True}, **_OK}

    def list_policy_versions(self, **kwargs: Any) -> Any:
        versions = self._policy("ListPolicyVersions", kwargs)
        default = max(versions, key=lambda v: int(v[1:]))
        listed = [{"VersionId": v, "IsDefaultVersion": v == default} for v in versions]
        return {"Versions": listed, **_OK}

    def get_policy(self, **kwargs: Any) -> Any:
        versions = self._policy("GetPolicy", kwargs)
        default = max(versions, key=lambda v: int(v[1:]))
        return {"Policy": {"Arn": kwargs["PolicyArn"], "DefaultVersionId": default}, **_OK}

    def get_policy_version(self, **kwargs: Any) -> Any:
        document = self._policy("GetPolicyVersion", kwargs)[kwargs["VersionId"]]
        return {"PolicyVersion": {"Document": document, "VersionId": kwargs["VersionId"]}, **_OK}

    def delete_policy_version(self, **kwargs: Any) -> Any:
        del self._policy("DeletePolicyVersion", kwargs)[kwargs["VersionId"]]
        return _OK

    def delete_policy(self, **kwargs: Any) -> Any:
        self._policy("DeletePolicy", kwargs)
        del self.aws.managed[kwargs["PolicyArn"]]
        return _OK

    def attach_role_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("AttachRolePolicy", kwargs)
        attached = self.aws.role_attached.setdefault(kwargs["RoleName"], [])
        if kwargs["PolicyArn"] not in attached:
            attached.append(kwargs["PolicyArn"])
        return _OK

    def detach_role_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("DetachRolePolicy", kwargs)
        self.aws.role_attached.get(kwargs["RoleName"], []).remove(kwargs["PolicyArn"])
        return _OK

    def delete_role_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("DeleteRolePolicy", kwargs)
        key = (kwargs["RoleName"], kwargs["PolicyName"])
        if key not in self.aws.role_policies:
            raise aws_error("DeleteRolePolicy", "NoSuchEntity", 404)
        del self.aws.role_policies[key]
        return _OK

    def list_user_policies(self, **kwargs: Any) -> Any:
        return {"PolicyNames": list(self._user("ListUserPolicies", kwargs).inline), **_OK}

    def add_user_to_group(self, **kwargs: Any) -> Any:
        user = self._user("AddUserToGroup", kwargs)
        if kwargs["GroupName"] not in self.aws.groups:
            raise aws_error("AddUserToGroup", "NoSuchEntity", 404)
        user.groups.append(kwargs["GroupName"])
        return _OK

    def remove_user_from_group(self, **kwargs: Any) -> Any:
        self._user("RemoveUserFromGroup", kwargs).groups.remove(kwargs["GroupName"])
        return _OK

    def list_groups_for_user(self, **kwargs: Any) -> Any:
        user = self._user("ListGroupsForUser", kwargs)
        return {"Groups": [{"GroupName": g} for g in user.groups], **_OK}

    def create_access_key(self, **kwargs: Any) -> Any:
        user = self._user("CreateAccessKey", kwargs)
        if len(user.keys) >= 2:
            raise aws_error("CreateAccessKey", "LimitExceeded", 409)
        key_id, secret = self.aws.new_id("AKIA"), self.aws.new_id("secret")
        user.keys[key_id] = secret
        key = {"UserName": user.name, "AccessKeyId": key_id, "SecretAccessKey": secret}
        return {"AccessKey": {**key, "Status": "Active"}, **_OK}

    def delete_access_key(self, **kwargs: Any) -> Any:
        user = self._user("DeleteAccessKey", kwargs)
        if user.keys.pop(kwargs["AccessKeyId"], None) is None:
            raise aws_error("DeleteAccessKey", "NoSuchEntity", 404)
        return _OK

    def list_access_keys(self, **kwargs: Any) -> Any:
        user = self._user("ListAccessKeys", kwargs)
        return {"AccessKeyMetadata": [{"AccessKeyId": k} for k in user.keys], **_OK}

    # What someone may add outside the broker: this fake has none of it.
    def delete_login_profile(self, **kwargs: Any) -> Any:
        self._user("DeleteLoginProfile", kwargs)
        raise aws_error("DeleteLoginProfile", "NoSuchEntity", 404)

    def list_mfa_devices(self, **kwargs: Any) -> Any:
        self._user("ListMFADevices", kwargs)
        return {"MFADevices": [], **_OK}

    def deactivate_mfa_device(self, **kwargs: Any) -> Any:
        raise aws_error("DeactivateMFADevice", "NoSuchEntity", 404)

    def delete_virtual_mfa_device(self, **kwargs: Any) -> Any:
        raise aws_error("DeleteVirtualMFADevice", "NoSuchEntity", 404)

    def list_signing_certificates(self, **kwargs: Any) -> Any:
        self._user("ListSigningCertificates", kwargs)
        return {"Certificates": [], **_OK}

    def delete_signing_certificate(self, **kwargs: Any) -> Any:
        raise aws_error("DeleteSigningCertificate", "NoSuchEntity", 404)

    def list_ssh_public_keys(self, **kwargs: Any) -> Any:
        self._user("ListSSHPublicKeys", kwargs)
        return {"SSHPublicKeys": [], **_OK}

    def delete_ssh_public_key(self, **kwargs: Any) -> Any:
        raise aws_error("DeleteSSHPublicKey", "NoSuchEntity", 404)

    def list_service_specific_credentials(self, **kwargs: Any) -> Any:
        self._user("ListServiceSpecificCredentials", kwargs)
        return {"ServiceSpecificCredentials": [], **_OK}

    def delete_service_specific_credential(self, **kwargs: Any) -> Any:
        raise aws_error("DeleteServiceSpecificCredential", "NoSuchEntity", 404)

    def list_attached_group_policies(self, **kwargs: Any) -> Any:
        self.aws.enter("ListAttachedGroupPolicies", kwargs)
        attached, _ = self.aws.groups[kwargs["GroupName"]]
        return {"AttachedPolicies": [{"PolicyArn": a} for a in attached], **_OK}

    def list_group_policies(self, **kwargs: Any) -> Any:
        self.aws.enter("ListGroupPolicies", kwargs)
        _, inline = self.aws.groups[kwargs["GroupName"]]
        return {"PolicyNames": list(inline), **_OK}

    def get_group_policy(self, **kwargs: Any) -> Any:
        self.aws.enter("GetGroupPolicy", kwargs)
        _, inline = self.aws.groups[kwargs["GroupName"]]
        return {"PolicyDocument": inline[kwargs["PolicyName"]], **_OK}

    def close(self) -> None:
        pass


class FakeSTS(STS):
    def __init__(self, aws: InProcessAWS, spec: ClientSpec) -> None:
        self.aws, self.spec = aws, spec

    def _credentials(self, seconds: int) -> dict[str, Any]:
        return {
            "AccessKeyId": self.aws.new_id("ASIA"),
            "SecretAccessKey": self.aws.new_id("secret"),
            "SessionToken": self.aws.new_id("token"),
            "Expiration": datetime.now(UTC) + timedelta(seconds=seconds),
        }

    def assume_role(self, **kwargs: Any) -> Any:
        self.aws.enter("AssumeRole", kwargs)
        role = kwargs["RoleArn"].rsplit("/", 1)[-1]
        arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{kwargs['RoleSessionName']}"
        return {
            "Credentials": self._credentials(kwargs.get("DurationSeconds", 3600)),
            "AssumedRoleUser": {"Arn": arn, "AssumedRoleId": "AROA:" + kwargs["RoleSessionName"]},
            **_OK,
        }

    def get_federation_token(self, **kwargs: Any) -> Any:
        self.aws.enter("GetFederationToken", kwargs)
        return {"Credentials": self._credentials(kwargs.get("DurationSeconds", 43200)), **_OK}

    def get_session_token(self, **kwargs: Any) -> Any:
        self.aws.enter("GetSessionToken", kwargs)
        return {"Credentials": self._credentials(kwargs.get("DurationSeconds", 43200)), **_OK}

    def get_caller_identity(self) -> Any:
        self.aws.enter("GetCallerIdentity", {})
        user = self.aws.key_owner(self.spec.access_key)
        if self.spec.access_key and user is None:
            raise aws_error("GetCallerIdentity", "InvalidClientTokenId", 403)
        name = user.name if user else "broker"
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "Account": ACCOUNT, **_OK}

    def close(self) -> None:
        pass
