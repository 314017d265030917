"""`iam_user` credentials: create a user with its policies, groups and tags, then a key.

The write-ahead entry goes in before CreateUser, so a failure or a crash at any later step
leaves a record the rollback acts on. Revocation removes everything that would block
DeleteUser (keys, policies, groups, login profile, MFA devices, certificates, SSH keys,
service-specific credentials), then the user.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from awsbroker.engines.aws import session_revocation, wal
from awsbroker.engines.aws.records import lease_config, root_config
from awsbroker.engines.aws.records.lease_config import SECRET_ACCESS_KEYS
from awsbroker.engines.aws.records.role import RoleEntry
from awsbroker.engines.aws.transport.errors import (
    AWS_ERRORS,
    aws_error,
    error_code,
    short_answer,
    unsupported,
)
from awsbroker.engines.aws.transport.propagation import wait_until_accepted
from awsbroker.engines.aws.username_template import UsernameKind, generate_username
from awsbroker.sdk.errors import BrokerError, InternalError
from awsbroker.sdk.gotemplate import TemplateError
from awsbroker.sdk.logical import Request, Response, Secret

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM, CreateUserRequest

log = logging.getLogger("awsbroker.engines.aws.iam_user")
_T = TypeVar("_T")
_P = ParamSpec("_P")
GONE_GRACE = 5 * 60  # IAM is eventually consistent: "no such user" is not trusted before this.


def username(
    backend: AWSBackend,
    kind: UsernameKind,
    display_name: str,
    role_name: str,
    config: root_config.RootConfig | None = None,
) -> str:
    """The name of a new user or session by the mount's `username_template`, from `config`
    (the request's read of config/root; read now when not given)."""
    if config is None:
        config = root_config.current(backend)
    try:
        return generate_username(
            config.username_template,
            display_name,
            role_name,
            kind=kind,
            now=backend.system.clock.now,
        )
    except TemplateError as exc:
        raise InternalError(str(exc)) from None


def create(
    backend: AWSBackend,
    req: Request,
    role_name: str,
    role: RoleEntry,
    *,
    extra_tags: dict[str, str] | None = None,
) -> Response:
    """A new IAM user of `role`, with a key. `extra_tags` (the reason's tag, reason.py) are
    added to the role's `iam_tags`, in the same CreateUser call."""
    config = root_config.current(backend)  # read once for both
    iam = backend.clients.iam(config)
    name = username(backend, "IAM", req.display_name, role_name, config)
    wal_id = wal.put_user(backend, name, req.lease_id)
    create_args: CreateUserRequest = {"UserName": name, "Path": role.user_path or "/"}
    if role.permissions_boundary_arn:
        create_args["PermissionsBoundary"] = role.permissions_boundary_arn
    tags = {**role.iam_tags, **(extra_tags or {})}
    if tags:
        create_args["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        iam.create_user(**create_args)
    except AWS_ERRORS as exc:
        wal.delete(backend, wal_id)
        raise aws_error("Error creating IAM user", exc) from exc
    step = "Error attaching user policy"
    try:
        for arn in role.policy_arns:
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
        step = "Error putting user policy"
        if role.policy_document:
            iam.put_user_policy(
                UserName=name, PolicyName=role_name, PolicyDocument=role.policy_document
            )
        step = "Error adding user to group"
        for group in role.iam_groups:
            iam.add_user_to_group(UserName=name, GroupName=group)
        step = "Error creating access keys"
        key = iam.create_access_key(UserName=name)["AccessKey"]
    except AWS_ERRORS as exc:
        raise aws_error(step, exc) from exc  # the WAL entry stays; the rollback removes the user
    response = _response(backend, name, role, key["AccessKeyId"], key["SecretAccessKey"])
    if role.key_propagation_timeout:
        _wait_until_usable(backend, response, role.key_propagation_timeout)
    # The intent is cleared only once the lease is stored: a crash before that leaves the entry,
    # and the rollback removes a user whose credentials never reached a lease.
    response.on_registered.append(lambda: wal.delete(backend, wal_id))
    return response


def _response(
    backend: AWSBackend, name: str, role: RoleEntry, access: str, secret: str
) -> Response:
    lease = lease_config.load(backend)
    return Response(
        data={
            "access_key": access,
            "secret_key": secret,
            "security_token": None,
            "session_token": None,
        },
        secret=Secret(
            SECRET_ACCESS_KEYS,
            ttl=lease.lease if lease else 0,
            max_ttl=lease.lease_max if lease else 0,
            renewable=True,
            internal_data={
                "username": name,
                "policy": role.record(),
                "is_sts": False,
            },
        ),
    )


def _wait_until_usable(backend: AWSBackend, response: Response, timeout: int) -> None:
    """Poll STS with the new key until AWS accepts it, or `timeout` seconds pass."""
    assert response.data is not None
    sts = backend.clients.signed_sts(
        root_config.current(backend),
        str(response.data["access_key"]),
        str(response.data["secret_key"]),
    )
    try:
        accepted = wait_until_accepted(
            sts, timeout=timeout, now=backend.system.clock.now, sleep=backend.sleep
        )
    finally:
        sts.close()
    response.data["key_propagation_seconds"] = round(accepted.waited, 3)
    if accepted.error is not None:
        response.add_warning(
            f"AWS had not accepted the new key after {timeout}s; it may fail for a while"
        )


def renew(backend: AWSBackend, req: Request, secret: Secret) -> Response | None:
    if secret.internal_data.get("is_sts") is True:
        return None
    lease = lease_config.load(backend)
    return Response(
        secret=Secret(
            secret.secret_type,
            ttl=lease.lease if lease else 0,
            max_ttl=lease.lease_max if lease else 0,
        )
    )


def revoke(backend: AWSBackend, req: Request, secret: Secret) -> Response | None:
    is_sts = secret.internal_data.get("is_sts")
    if is_sts is not None and not isinstance(is_sts, bool):
        raise InternalError("secret has is_sts but value could not be understood")
    if is_sts:
        # STS credentials end at their expiry, unless the role denies revoked sessions.
        session_revocation.revoke(backend, secret.internal_data, secret.issue_time)
        return None
    name = secret.internal_data.get("username")
    if not isinstance(name, str) or not name:
        raise InternalError("secret is missing username internal data")
    delete_user(backend, name, issue_time=secret.issue_time)
    return None


def delete_user(backend: AWSBackend, name: str, *, issue_time: float | None) -> None:
    """Remove a user and everything attached to it. A user already gone counts as removed,
    unless it was issued under `GONE_GRACE` ago (IAM may not show it yet)."""
    iam = backend.clients.iam()
    try:
        groups = iam.list_groups_for_user(UserName=name, MaxItems=1000)["Groups"]
    except AWS_ERRORS as exc:
        young = issue_time is not None and backend.system.clock.now() - issue_time < GONE_GRACE
        if error_code(exc) == "NoSuchEntity" and not young:
            return
        raise aws_error("Error listing groups of the IAM user", exc) from exc
    try:
        inline = iam.list_user_policies(UserName=name, MaxItems=1000)["PolicyNames"]
        attached = iam.list_attached_user_policies(UserName=name, MaxItems=1000)["AttachedPolicies"]
        keys = iam.list_access_keys(UserName=name, MaxItems=1000)["AccessKeyMetadata"]
        for key in keys:
            iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        for policy in attached:
            iam.detach_user_policy(UserName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in inline:
            iam.delete_user_policy(UserName=name, PolicyName=policy_name)
        for group in groups:
            iam.remove_user_from_group(UserName=name, GroupName=group["GroupName"])
        _delete_extras(iam, name)
        iam.delete_user(UserName=name)
    except AWS_ERRORS as exc:
        raise aws_error(f"Error deleting IAM user {name}", exc) from exc


def _delete_extras(iam: IAM, name: str) -> None:
    """What someone may have added outside the broker, and that would block DeleteUser.

    Best effort: Vault removes none of these, and its documented minimum IAM policy does not
    allow listing or deleting them. A step that fails is skipped, in one log line naming the
    call; if something it would have removed does exist, DeleteUser fails with DeleteConflict
    and the revocation is retried. An endpoint that does not implement a call (an emulator
    answering 500, or a page that is not AWS's XML) gets a WARNING: that step never works there.
    """
    calls = _Calls()
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "login profile",
            lambda: calls.run("DeleteLoginProfile", iam.delete_login_profile, UserName=name),
        ),
        ("MFA devices", lambda: _delete_mfa_devices(iam, name, calls)),
        ("signing certificates", lambda: _delete_signing_certificates(iam, name, calls)),
        ("SSH public keys", lambda: _delete_ssh_public_keys(iam, name, calls)),
        ("service-specific credentials", lambda: _delete_service_credentials(iam, name, calls)),
    ]
    for what, step in steps:
        try:
            step()
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code == "NoSuchEntity":
                continue
            if unsupported(exc):
                log.warning(
                    "IAM %s is not supported by the AWS endpoint (%s); skipped removing the %s "
                    "of %s",
                    calls.last, short_answer(exc), what, name,
                )  # fmt: skip
            else:
                log.info(
                    "skipped removing the %s of %s: IAM %s failed: %s",
                    what, name, calls.last, short_answer(exc),
                )  # fmt: skip


class _Calls:
    """Runs the clean-up steps' IAM calls and remembers the last one, to name it in the log
    (an answer that is not AWS's XML raises an error that does not say which call it was)."""

    def __init__(self) -> None:
        self.last = ""

    def run(
        self, operation: str, method: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        self.last = operation
        return method(*args, **kwargs)


def _delete_mfa_devices(iam: IAM, name: str, calls: _Calls) -> None:
    for device in calls.run("ListMFADevices", iam.list_mfa_devices, UserName=name)["MFADevices"]:
        serial = device["SerialNumber"]
        calls.run(
            "DeactivateMFADevice", iam.deactivate_mfa_device, UserName=name, SerialNumber=serial
        )
        if serial.startswith("arn:"):
            calls.run("DeleteVirtualMFADevice", iam.delete_virtual_mfa_device, SerialNumber=serial)


def _delete_signing_certificates(iam: IAM, name: str, calls: _Calls) -> None:
    certs = calls.run("ListSigningCertificates", iam.list_signing_certificates, UserName=name)
    for cert in certs["Certificates"]:
        calls.run(
            "DeleteSigningCertificate",
            iam.delete_signing_certificate,
            UserName=name,
            CertificateId=cert["CertificateId"],
        )


def _delete_ssh_public_keys(iam: IAM, name: str, calls: _Calls) -> None:
    for ssh in calls.run("ListSSHPublicKeys", iam.list_ssh_public_keys, UserName=name)[
        "SSHPublicKeys"
    ]:
        calls.run(
            "DeleteSSHPublicKey",
            iam.delete_ssh_public_key,
            UserName=name,
            SSHPublicKeyId=ssh["SSHPublicKeyId"],
        )


def _delete_service_credentials(iam: IAM, name: str, calls: _Calls) -> None:
    listing = calls.run(
        "ListServiceSpecificCredentials", iam.list_service_specific_credentials, UserName=name
    )
    for cred in listing["ServiceSpecificCredentials"]:
        calls.run(
            "DeleteServiceSpecificCredential",
            iam.delete_service_specific_credential,
            UserName=name,
            ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
        )


def rollback_due(backend: AWSBackend, *, min_age: int = wal.MIN_AGE) -> None:
    """Roll back every entry older than `min_age`, or left by a process that is no longer alive
    (none of its requests can still be running); failures stay for the next run."""
    now = backend.system.clock.now()
    for wal_id in wal.pending(backend):
        blob = backend.storage.get(wal.PREFIX + wal_id)
        if blob is None:
            continue
        entry = json.loads(blob)
        orphaned = bool(entry.get("boot")) and not backend.system.node_alive(str(entry["boot"]))
        if not orphaned and now - float(entry.get("created_at", 0)) < min_age:
            continue
        if entry.get("type") != wal.KIND_USER:
            log.error("unknown type to rollback in WAL entry %s", wal_id)
            continue
        if entry.get("lease_id") and backend.system.lease_exists(str(entry["lease_id"])):
            # The lease was stored before the process stopped: the user is tracked by it and
            # goes when it is revoked. Only the entry is left to clear.
            wal.delete(backend, wal_id)
            continue
        try:
            delete_user(backend, str(entry["data"]["UserName"]), issue_time=None)
        except BrokerError as exc:
            log.warning("rollback of WAL entry %s failed, will retry: %s", wal_id, exc)
            continue
        wal.delete(backend, wal_id)
