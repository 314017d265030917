"""Two `aws` mounts side by side: each uses its own config, roles and leases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import hvac
import pytest
from tests.integration.aws.support import (
    ALLOW_ALL,
    AWSWorld,
    Broker,
    configure,
    fresh_mount,
    iam_name,
)
from tests.support.aws_proxy import Call

SECOND = "aws2"


@pytest.fixture
def second(aws: AWSWorld, vault: hvac.Client) -> Iterator[tuple[str, str]]:
    """`aws2/`, configured with another admin user's key, region us-west-2 and its own
    username template. Yields that key's (access key id, secret)."""
    fresh_mount(vault, SECOND)
    key = aws.new_admin("awsbroker-test-admin-2")
    configure(vault, aws, SECOND, key=key)
    vault.write(
        f"{SECOND}/config/root",
        region="us-west-2",
        username_template="second-{{ .PolicyName }}-{{ random 12 }}",
    )
    try:
        yield key
    finally:
        vault.sys.revoke_force(f"{SECOND}/")
        vault.sys.disable_secrets_engine(SECOND)


def scope(call: Call) -> list[str]:
    """The SigV4 credential scope of a call: [access key id, date, region, service]."""
    authorization = call.headers["authorization"]
    return authorization.partition("Credential=")[2].partition(",")[0].split("/")[:4]


def test_each_mount_uses_its_own_config(
    aws: AWSWorld, broker: Broker, second: tuple[str, str]
) -> None:
    vault = broker.vault
    for mount in ("aws", SECOND):
        vault.write(
            f"{mount}/roles/r", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL)
        )

    first = vault.secrets.aws.generate_credentials("r")
    (create,) = aws.calls("CreateUser")
    assert scope(create)[0] == aws.access_key
    assert scope(create)[2] == "us-east-1"
    first_name = create.param("UserName") or ""
    assert iam_name("r").fullmatch(first_name)
    aws.proxy.clear()

    other = vault.secrets.aws.generate_credentials("r", mount_point=SECOND)
    (create,) = aws.calls("CreateUser")
    assert scope(create)[0] == second[0]
    assert scope(create)[2] == "us-west-2"
    other_name = create.param("UserName") or ""
    assert other_name.startswith("second-r-")
    assert len(other_name) == len("second-r-") + 12
    assert other["lease_id"].startswith(f"{SECOND}/creds/r/")
    assert aws.caller_arn(other["data"]).endswith(f":user/{other_name}")
    assert aws.caller_arn(first["data"]).endswith(f":user/{first_name}")

    # Revoking the second mount's lease signs with the second mount's key.
    aws.proxy.clear()
    vault.sys.revoke_lease(other["lease_id"])
    assert {scope(c)[0] for c in aws.calls()} == {second[0]}
    assert aws.users() == [first_name]


def test_roles_and_leases_are_per_mount(
    aws: AWSWorld, broker: Broker, second: tuple[str, str]
) -> None:
    vault = broker.vault
    vault.write("aws/roles/only-first", credential_type="iam_user")
    vault.write(f"{SECOND}/roles/only-second", credential_type="iam_user")
    assert vault.secrets.aws.list_roles()["data"]["keys"] == ["only-first"]
    assert vault.secrets.aws.list_roles(mount_point=SECOND)["data"]["keys"] == ["only-second"]
    errors = broker.errors("GET", f"{SECOND}/creds/only-first", 400)
    assert errors == ['Role "only-first" not found']

    vault.secrets.aws.generate_credentials("only-first")
    vault.secrets.aws.generate_credentials("only-second", mount_point=SECOND)
    assert len(aws.users()) == 2

    # Disabling a mount revokes its leases (and so deletes its users), not the other's.
    aws.proxy.clear()
    vault.sys.disable_secrets_engine(SECOND)
    remaining = aws.users()
    assert len(remaining) == 1
    assert iam_name("only-first").fullmatch(remaining[0])
    assert {scope(c)[0] for c in aws.calls()} == {second[0]}
    vault.sys.enable_secrets_engine("aws", path=SECOND)  # for the fixture's teardown


def test_sts_calls_use_each_mounts_endpoint_and_region(
    aws: AWSWorld, broker: Broker, second: tuple[str, str]
) -> None:
    arn = aws.create_role("target")
    for mount in ("aws", SECOND):
        broker.vault.write(f"{mount}/roles/r", credential_type="assumed_role", role_arns=arn)
    broker.ok("GET", "aws/creds/r")
    broker.ok("GET", f"{SECOND}/creds/r")
    first, other = aws.calls("AssumeRole")
    assert scope(first)[0::2] == [aws.access_key, "us-east-1"]
    assert scope(other)[0::2] == [second[0], "us-west-2"]
    assert scope(other)[3] == "sts"
    # The second mount's generated session name follows its own template.
    assert (other.param("RoleSessionName") or "").startswith("second-r-")
