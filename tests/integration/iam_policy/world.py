"""The AWS world of the IAM policy tests, and one flow per credential type and rotation.

`build` makes, with moto's checks off: an admin allowed everything (the test's own hand),
the broker's user `awsbroker` with only the policy under test, and what the roles name (a
group with policies, a managed policy, an `assumed_role` target under /awsbroker/, static
users and a role to reach them under /awsbroker-static/). Then the checks go on, and the
broker's `aws/` mount is configured with the broker user's key, through the recording proxy.

A flow drives the broker over HTTP the way an operator would; `StepFailed` says which step the
broker refused.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.integration.aws.support import Broker, fresh_mount
from tests.support.aws_proxy import AWSProxy
from tests.support.iam_policies import (
    MOTO_ACCOUNT,
    Policy,
    for_moto,
    in_moto_account,
)
from tests.support.moto_process import MotoProcess
from tests.support.moto_server import bootstrap_admin, moto_client

REGION = "us-east-1"
BROKER_USER = "awsbroker"
BROKER_ARN = f"arn:aws:iam::{MOTO_ACCOUNT}:user/{BROKER_USER}"
GROUP = "developers"
READ_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
    },
    separators=(",", ":"),
)
ROTATE_KEYS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "iam:GetUser",
                    "iam:ListAccessKeys",
                    "iam:CreateAccessKey",
                    "iam:DeleteAccessKey",
                ],
                "Resource": "*",
            }
        ],
    }
)


def trust(principal: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class StepFailed(Exception):
    """The broker refused a step of a flow."""


@dataclass
class World:
    broker: Broker
    moto: MotoProcess
    proxy: AWSProxy
    admin: Any  # IAM client of the admin, straight to moto
    managed_arn: str = ""
    target_role_arn: str = ""
    static_role_arn: str = ""
    # User name -> ARN, for the Resource check (the broker's user, static users, issued users).
    user_arns: dict[str, str] = field(default_factory=dict)

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.broker.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise StepFailed(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else {}

    def remember_users(self) -> None:
        for user in self.admin.list_users()["Users"]:
            self.user_arns[user["UserName"]] = user["Arn"]


def build(
    broker: Broker, moto: MotoProcess, proxy: AWSProxy, policy: Policy, *, widen: bool = True
) -> World:
    """A fresh `aws/` mount and moto; the broker's user holds `policy`, in moto's account, its
    Resources widened for moto unless `widen` is false."""
    fresh_mount(broker.vault, "aws")  # first: revoking the last test's leases calls AWS
    with moto.setup():
        admin_key = bootstrap_admin(moto.endpoint)
        admin = moto_client(moto.endpoint, "iam", *admin_key)
        world = World(broker, moto, proxy, admin)
        admin.create_user(UserName=BROKER_USER)
        admin.put_user_policy(
            UserName=BROKER_USER,
            PolicyName="broker",
            PolicyDocument=json.dumps(for_moto(policy) if widen else in_moto_account(policy)),
        )
        key = admin.create_access_key(UserName=BROKER_USER)["AccessKey"]
        world.managed_arn = admin.create_policy(PolicyName="read-only", PolicyDocument=READ_ONLY)[
            "Policy"
        ]["Arn"]
        admin.create_group(GroupName=GROUP)
        admin.put_group_policy(GroupName=GROUP, PolicyName="inline", PolicyDocument=READ_ONLY)
        admin.attach_group_policy(GroupName=GROUP, PolicyArn=world.managed_arn)
        world.target_role_arn = admin.create_role(
            Path="/awsbroker/", RoleName="deploy", AssumeRolePolicyDocument=trust(BROKER_ARN)
        )["Role"]["Arn"]
        admin.put_role_policy(RoleName="deploy", PolicyName="read", PolicyDocument=READ_ONLY)
        world.static_role_arn = admin.create_role(
            Path="/awsbroker-static/",
            RoleName="rotator",
            AssumeRolePolicyDocument=trust(BROKER_ARN),
        )["Role"]["Arn"]
        admin.put_role_policy(RoleName="rotator", PolicyName="keys", PolicyDocument=ROTATE_KEYS)
        for name in ("app", "app-elsewhere"):
            admin.create_user(Path="/awsbroker-static/", UserName=name)
        world.remember_users()
    proxy.clear()
    broker.vault.secrets.aws.configure_root_iam_credentials(
        key["AccessKeyId"],
        key["SecretAccessKey"],
        region=REGION,
        iam_endpoint=proxy.endpoint,
        sts_endpoint=proxy.endpoint,
        max_retries=0,
        mount_point="aws",
    )
    return world


def _certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signing")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _add_extras(world: World, user: str) -> None:
    """What someone may add to an issued user outside the broker, and revocation removes."""
    admin = world.admin
    admin.create_login_profile(UserName=user, Password="Example-Passw0rd!")
    device = admin.create_virtual_mfa_device(VirtualMFADeviceName=f"{user}-mfa")
    serial = device["VirtualMFADevice"]["SerialNumber"]
    admin.enable_mfa_device(
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    admin.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="ssh-ed25519 AAAAC3Nza example")
    admin.upload_signing_certificate(UserName=user, CertificateBody=_certificate())


def iam_user(world: World) -> None:
    world.ok(
        "POST",
        "aws/roles/app",
        json={
            "credential_type": "iam_user",
            "policy_document": READ_ONLY,
            "policy_arns": [world.managed_arn],
            "iam_groups": [GROUP],
            "iam_tags": ["team=platform"],
        },
    )
    lease = world.ok("GET", "aws/creds/app")["lease_id"]
    world.remember_users()
    (user,) = [n for n in world.user_arns if n.startswith("vault-")]
    world.ok("PUT", "sys/leases/renew", json={"lease_id": lease})
    _add_extras(world, user)
    world.ok("PUT", "sys/leases/revoke", json={"lease_id": lease})
    names = [u["UserName"] for u in world.admin.list_users()["Users"]]
    if user in names:
        raise StepFailed(f"revocation left IAM user {user}")


def issue_and_revoke(world: World, role: str, fields: dict[str, object]) -> None:
    """Write role `role` with `fields`, take a credential of it and revoke its lease."""
    world.ok("POST", f"aws/roles/{role}", json=fields)
    lease = world.ok("GET", f"aws/creds/{role}")["lease_id"]
    world.ok("PUT", "sys/leases/revoke", json={"lease_id": lease})


def federation_token(world: World) -> None:
    fields = {"credential_type": "federation_token", "policy_document": READ_ONLY}
    issue_and_revoke(world, "fed", {**fields, "iam_groups": [GROUP]})


def session_token(world: World) -> None:
    issue_and_revoke(world, "session", {"credential_type": "session_token"})


def assumed_role(world: World) -> None:
    world.ok(
        "POST",
        "aws/roles/deploy",
        json={
            "credential_type": "assumed_role",
            "role_arns": [world.target_role_arn],
            "iam_groups": [GROUP],
            "session_tags": ["team=platform"],
        },
    )
    body = world.ok("GET", "aws/creds/deploy")
    if not body["data"]["arn"].startswith(f"arn:aws:sts::{MOTO_ACCOUNT}:assumed-role/deploy/"):
        raise StepFailed(f"unexpected role session {body['data']['arn']}")
    world.ok("PUT", "sys/leases/revoke", json={"lease_id": body["lease_id"]})


def rotate_root(world: World) -> None:
    world.ok("POST", "aws/config/rotate-root")


def static_roles(world: World) -> None:
    world.ok("POST", "aws/static-roles/app", json={"username": "app", "rotation_period": "1h"})
    world.ok("GET", "aws/static-creds/app")
    world.ok(
        "POST",
        "aws/static-roles/elsewhere",
        json={
            "username": "app-elsewhere",
            "rotation_period": "1h",
            "assume_role_arn": world.static_role_arn,
        },
    )
    world.ok("GET", "aws/static-creds/elsewhere")
    world.ok("DELETE", "aws/static-roles/app")
    world.ok("DELETE", "aws/static-roles/elsewhere")


@dataclass(frozen=True)
class Flow:
    """What a policy file (or some of its statements) must allow, run end to end."""

    name: str
    file: str
    sids: tuple[str, ...] | None
    run: Callable[[World], None]


FLOWS = (
    Flow("iam_user", "iam_user", None, iam_user),
    Flow("federation_token", "federation_token", None, federation_token),
    Flow("session_token", "session_token", None, session_token),
    Flow("assumed_role", "assumed_role", None, assumed_role),
    Flow("rotate_root", "rotation_and_static_roles", ("RotateOwnAccessKey",), rotate_root),
    Flow(
        "static_roles",
        "rotation_and_static_roles",
        ("RotateKeysOfStaticRoleUsers", "AssumeRolesOfCrossAccountStaticRoles"),
        static_roles,
    ),
)
