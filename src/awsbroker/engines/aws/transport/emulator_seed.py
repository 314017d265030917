"""The IAM seeding of `server --dev --dev-aws-emulator` (server/dev_emulator.py): an admin user
and key, and a role to assume, created with boto3 in the emulator (a client of boto.py's, as
every other). Here because boto3 is the transport's alone (the import-linter contract); a dev
tool, not the engine's calls."""

from __future__ import annotations

from dataclasses import dataclass

from awsbroker.engines.aws.transport.boto import build_iam
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.sdk.telemetry import NullTelemetry


@dataclass(frozen=True)
class Seeded:
    access_key: str
    secret_key: str
    role_arn: str


def seed_iam(
    endpoint: str,
    *,
    region: str,
    signing_key: tuple[str, str],
    admin_user: str,
    admin_policy: str,
    role_name: str,
    trust_policy: str,
    role_policy: str,
) -> Seeded:
    """Create `admin_user` with the inline `admin_policy` and a key, and `role_name` with
    `trust_policy` and the inline `role_policy`, calling IAM at `endpoint` signed with
    `signing_key`."""
    iam = build_iam(ClientSpec("iam", region, endpoint, *signing_key), NullTelemetry())
    try:
        iam.create_user(UserName=admin_user)
        iam.put_user_policy(UserName=admin_user, PolicyName="admin", PolicyDocument=admin_policy)
        key = iam.create_access_key(UserName=admin_user)["AccessKey"]
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust_policy)
        iam.put_role_policy(RoleName=role_name, PolicyName="example", PolicyDocument=role_policy)
    finally:
        iam.close()
    return Seeded(key["AccessKeyId"], key["SecretAccessKey"], role["Role"]["Arn"])
