"""Rotation end to end: real servers, moto with auth on behind the recording proxy.

- `config/rotate-root` on the dev server: the old key is rejected, the new one works, and
  credentials are still issued; bad input gets a clear 4xx and changes nothing in AWS.
- A static role on a SQLite server that is restarted before its rotation is due: the job
  schedule survives, the rotation replaces the key, the previous key works through the grace
  period and stops working after it.
- Two server processes on one PostgreSQL: a due static rotation happens once.

Rotation periods are at least 60 s (Vault's minimum), so the last two tests wait about a
minute each, polling with bounded deadlines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import hvac
import pytest
from tests.integration.aws.support import REGION, AWSWorld, Broker
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import ADMIN_USER, MotoServer, bootstrap_admin
from tests.support.server import ServerFactory, ServerProcess

ROTATION_DEADLINE = 120.0  # a 60 s period, plus the ticker's second and some slack


def wait_for(what: str, check: Callable[[], Any], deadline: float = ROTATION_DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.5)  # polling a real server's background work
    raise AssertionError(f"timed out after {deadline}s waiting for {what}")


# --- config/rotate-root on the dev server ------------------------------------------------------


def test_rotate_root_replaces_the_key(aws: AWSWorld, broker: Broker) -> None:
    checker = aws.new_admin("awsbroker-test-admin-checker")
    body = broker.ok("POST", "aws/config/rotate-root")
    new = body["data"]["access_key"]
    assert set(body["data"]) == {"access_key"}
    assert [c.action for c in aws.calls() if c.action] == [
        "GetUser",
        "ListAccessKeys",
        "CreateAccessKey",
        "GetCallerIdentity",
        "DeleteAccessKey",
    ]
    assert not aws.moto.key_works(aws.access_key, aws.secret_key)  # the old key is rejected
    assert broker.vault.read("aws/config/root")["data"]["access_key"] == new
    keys = aws.iam(*checker).list_access_keys(UserName=ADMIN_USER)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [new]
    # Credentials are still issued, signed with the new key, and they work.
    broker.vault.write("aws/roles/r", credential_type="iam_user", policy_document=ALLOW)
    issued = broker.ok("GET", "aws/creds/r")["data"]
    assert f"Credential={new}/" in aws.calls("CreateUser")[-1].headers["authorization"]
    assert aws.moto.key_works(issued["access_key"], issued["secret_key"])
    assert broker.errors("GET", "aws/config/rotate-root", 405)


ALLOW = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "aws/config/root",
            {"rotation_period": "1h", "rotation_schedule": "0 * * * *"},
            "mutually exclusive fields rotation_schedule and rotation_period were both "
            "specified; only one of them can be provided",
        ),
        (
            "aws/config/root",
            {"rotation_period": 5},
            "rotation_period must be at least 10 seconds, got 5",
        ),
        (
            "aws/static-roles/s",
            {"username": "app", "rotation_period": "30s"},
            "role rotation period out of range: must be greater than 60.00 seconds",
        ),
        (
            "aws/static-roles/s",
            {"username": "nobody", "rotation_period": "1h"},
            'unable to validate username "nobody": NoSuchEntity: ',
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    aws: AWSWorld, broker: Broker, path: str, body: dict[str, Any], message: str
) -> None:
    aws.iam().create_user(UserName="app")
    aws.proxy.clear()
    (error,) = broker.errors("POST", path, 400, json=body)
    assert error.startswith(message)
    assert aws.mutating_calls() == []
    assert broker.errors("GET", "aws/static-roles/s", 404) == []
    assert broker.vault.read("aws/config/root")["data"]["rotation_period"] == 0


def test_two_foreign_keys_are_refused(aws: AWSWorld, broker: Broker) -> None:
    iam = aws.iam()
    iam.create_user(UserName="full")
    for _ in range(2):
        iam.create_access_key(UserName="full")
    second = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]["AccessKeyId"]
    aws.proxy.clear()
    body = {"username": "full", "rotation_period": "1h"}
    (error,) = broker.errors("POST", "aws/static-roles/s", 400, json=body)
    assert error.startswith('IAM user "full" already has 2 access keys (')
    (error,) = broker.errors("POST", "aws/config/rotate-root", 400)
    assert error.startswith(f'IAM user "{ADMIN_USER}" already has 2 access keys')
    assert second in error
    assert aws.mutating_calls() == []
    assert broker.vault.read("aws/config/root")["data"]["access_key"] == aws.access_key


# --- a static role across a restart (SQLite) ---------------------------------------------------


@pytest.fixture
def clean_aws(moto: MotoServer, proxy: AWSProxy) -> Iterator[AWSWorld]:
    """moto wiped, an admin made, auth on; no broker attached yet."""
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    proxy.clear()
    proxy.clear_faults()
    world = AWSWorld(moto, proxy, access_key, secret_key)
    try:
        yield world
    finally:
        world.close()


def mount_aws(client: hvac.Client, world: AWSWorld) -> None:
    client.sys.enable_secrets_engine("aws", path="aws")
    client.secrets.aws.configure_root_iam_credentials(
        world.access_key,
        world.secret_key,
        region=REGION,
        iam_endpoint=world.endpoint,
        sts_endpoint=world.endpoint,
        max_retries=1,
    )


def static_creds(client: hvac.Client) -> dict[str, Any]:
    data: dict[str, Any] = client.read("aws/static-creds/s")["data"]
    return data


def test_static_rotation_survives_a_restart_and_honours_the_grace_period(
    clean_aws: AWSWorld, servers: ServerFactory
) -> None:
    server = servers.sqlite()
    init = server.init_and_unseal()
    root = server.client(init.root_token)
    mount_aws(root, clean_aws)
    clean_aws.iam().create_user(UserName="app")
    root.write("aws/static-roles/s", username="app", rotation_period="60s", grace_period="8s")
    first = static_creds(root)
    assert clean_aws.moto.key_works(first["access_key"], first["secret_key"])

    assert server.stop() == 0  # the rotation queue lives in storage, not in the process
    server.start()
    server.unseal(init.keys)
    root = server.client(init.root_token)

    rotated = wait_for(
        "the static rotation",
        lambda: (c := static_creds(root))["access_key"] != first["access_key"] and c,
    )
    assert rotated["previous_access_key"] == first["access_key"]
    assert clean_aws.moto.key_works(rotated["access_key"], rotated["secret_key"])
    assert clean_aws.moto.key_works(first["access_key"], first["secret_key"])  # grace
    wait_for(
        "the end of the grace period",
        lambda: not clean_aws.moto.key_works(first["access_key"], first["secret_key"]),
        deadline=30,
    )
    after = static_creds(root)
    assert "previous_access_key" not in after
    keys = clean_aws.iam().list_access_keys(UserName="app")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [after["access_key"]]
    assert len(clean_aws.calls("CreateAccessKey")) == 2


# --- two processes on one PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres
def test_two_nodes_rotate_a_static_key_once(
    clean_aws: AWSWorld, servers: ServerFactory, pg_dsn: str, pg_table: str
) -> None:
    first = servers.postgresql(pg_dsn, pg_table)
    init = first.init_and_unseal()
    root = first.client(init.root_token)
    mount_aws(root, clean_aws)
    clean_aws.iam().create_user(UserName="shared-app")
    second: ServerProcess = servers.postgresql(pg_dsn, pg_table)  # loads the mount at unseal
    second.unseal(init.keys)
    root.write("aws/static-roles/s", username="shared-app", rotation_period="60s")
    initial = static_creds(root)

    other = second.client(init.root_token)
    rotated = wait_for(
        "the static rotation",
        lambda: (c := static_creds(other))["access_key"] != initial["access_key"] and c,
    )
    time.sleep(5)  # long enough for a second node's duplicate rotation to show
    creates = [c for c in clean_aws.calls("CreateAccessKey") if c.param("UserName") == "shared-app"]
    assert len(creates) == 2  # the first key, and one rotation: not one per node
    keys = clean_aws.iam().list_access_keys(UserName="shared-app")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [rotated["access_key"]]
    assert static_creds(root)["access_key"] == rotated["access_key"]
