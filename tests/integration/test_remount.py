"""`sys/remount` over HTTP, on two nodes of one PostgreSQL table, with AWS played by moto.

A mount moved on one node answers at its new path on the other at once (and 404s at the old),
with its configuration, roles and static roles (stored by the mount's uuid); its leases move
with it (Vault revokes them, docs/compatibility.md), and a client holding a lease ID from
before the move still renews it and revokes it, which deletes the IAM user. An auth method
moves with its tokens. Refusals answer as OpenBao 2.x does (checked side by side with
`bao server -dev`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import hvac
import pytest
from tests.integration.aws.support import ALLOW_ALL, AWSWorld, configure
from tests.support.aws_proxy import AWSProxy
from tests.support.cluster import Cluster, start_cluster
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.reliability import Broker, wait_for
from tests.support.server import ServerFactory

pytestmark = pytest.mark.postgres
NOT_AUTH = "cannot remount auth mount to non-auth mount"


@pytest.fixture
def cluster(pg_dsn: str, pg_table: str, servers: ServerFactory) -> Cluster:
    return start_cluster(servers, ("postgresql", pg_dsn, pg_table), 2)


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[AWSWorld]:
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    proxy.clear_faults()
    aws = AWSWorld(moto, proxy, access_key, secret_key)
    try:
        yield aws
    finally:
        aws.close()


def remount(node: Broker, source: str, target: str) -> str:
    body = node.ok("POST", "sys/remount", json={"from": source, "to": target})
    assert body["migration_id"] == body["data"]["migration_id"]  # Vault copies it up
    assert body["warnings"][0].startswith("Mount move has been queued.")
    migration = str(body["migration_id"])

    def done() -> bool:
        status = node.ok("GET", f"sys/remount/status/{migration}")["data"]["migration_info"]
        assert status["status"] in ("in-progress", "success"), status
        return bool(status["status"] == "success")

    wait_for(done, timeout=30, interval=0.1, what="the mount move to finish")
    return migration


def users(world: AWSWorld) -> set[str]:
    return {u["UserName"] for u in world.iam().list_users()["Users"]}


def errors(node: Broker, method: str, path: str, status: int, **kwargs: Any) -> list[str]:
    response = node.call(method, path, **kwargs)
    assert response.status_code == status, response.text
    found: list[str] = response.json()["errors"]
    return found


def test_an_aws_mount_moves_with_its_leases_and_static_roles_on_every_node(
    cluster: Cluster, world: AWSWorld
) -> None:
    a, b = cluster.nodes
    a.ok("POST", "sys/mounts/team", json={"type": "aws"})
    configure(a.server.client(cluster.token), world, "team")
    a.ok("POST", "team/roles/ci", json={"credential_type": "iam_user",
                                         "policy_document": json.dumps(ALLOW_ALL)})  # fmt: skip
    world.iam().create_user(UserName="app")
    a.ok("POST", "team/static-roles/app", json={"username": "app", "rotation_period": "1h"})
    before = users(world)
    old_id = b.ok("GET", "team/creds/ci")["lease_id"]
    [user] = users(world) - before
    assert old_id.startswith("team/creds/ci/")

    migration = remount(a, "team", "platform/team")
    status = b.ok("GET", f"sys/remount/status/{migration}")["data"]
    assert status == {
        "migration_id": migration,
        "migration_info": {
            "source_mount": "team/",
            "target_mount": "platform/team/",
            "status": "success",
        },
    }
    # The other node routes the new path at its next request, with the mount's stored state.
    assert b.call("GET", "team/roles/ci").status_code == 404
    assert b.ok("GET", "platform/team/roles/ci")["data"]["credential_type"] == "iam_user"
    assert b.ok("GET", "platform/team/static-creds/app")["data"]["access_key"]
    mounts = b.ok("GET", "sys/mounts")["data"]
    assert "platform/team/" in mounts
    assert "team/" not in mounts

    new_id = "platform/team/" + old_id.removeprefix("team/")
    listed = b.ok("LIST", "sys/leases/lookup/platform/team/creds/ci/")["data"]["keys"]
    assert listed == [new_id.rsplit("/", 1)[1]]
    assert b.call("LIST", "sys/leases/lookup/team/").status_code == 404
    # A client holding the old ID: it finds the lease, renews it and revokes it.
    assert b.ok("PUT", "sys/leases/lookup", json={"lease_id": old_id})["data"]["id"] == new_id
    renewed = a.ok("PUT", "sys/leases/renew", json={"lease_id": old_id, "increment": 120})
    assert (renewed["lease_id"], renewed["lease_duration"]) == (new_id, 120)
    assert user in users(world)
    b.ok("PUT", "sys/leases/revoke", json={"lease_id": old_id})
    assert user not in users(world)
    assert "Traceback" not in cluster.logs()

    # Credentials from the new path are leased there.
    again = a.ok("GET", "platform/team/creds/ci")
    assert again["lease_id"].startswith("platform/team/creds/ci/")
    b.ok("PUT", "sys/leases/revoke-prefix/platform/team")


def test_a_static_roles_rotation_job_runs_at_the_new_path(
    cluster: Cluster, world: AWSWorld
) -> None:
    a, b = cluster.nodes
    a.ok("POST", "sys/mounts/rot", json={"type": "aws"})
    configure(a.server.client(cluster.token), world, "rot")
    world.iam().create_user(UserName="svc")
    a.ok("POST", "rot/static-roles/svc", json={"username": "svc", "rotation_period": "61s"})
    first = a.ok("GET", "rot/static-creds/svc")["data"]["access_key"]
    remount(b, "rot", "moved")
    # The rotation scheduled under `rot/` (61 s, the shortest period allowed) runs for
    # `moved/`, on whichever node claims it.
    wait_for(
        lambda: b.ok("GET", "moved/static-creds/svc")["data"]["access_key"] != first,
        timeout=90,
        interval=1,
        what="the static role's rotation after the move",
    )
    assert "Traceback" not in cluster.logs()


def test_credentials_issued_while_the_mount_moves_are_all_found_and_revoked(
    cluster: Cluster, world: AWSWorld
) -> None:
    """Four threads on two nodes issue credentials while the mount moves: requests routed
    before the move may store their lease under the old path after its sweeps; every lease
    a client received is then found by its ID, listed under the new path once the tick has
    swept, and revoke-prefix of the new path deletes every IAM user."""
    a, b = cluster.nodes
    a.ok("POST", "sys/mounts/busy", json={"type": "aws"})
    configure(a.server.client(cluster.token), world, "busy")
    a.ok("POST", "busy/roles/ci", json={"credential_type": "iam_user",
                                         "policy_document": json.dumps(ALLOW_ALL)})  # fmt: skip
    baseline = users(world)
    received: list[str] = []
    stop = threading.Event()

    def issue(node: Broker) -> None:
        while not stop.is_set():
            for mount in ("busy", "elsewhere"):
                response = node.call("GET", f"{mount}/creds/ci")
                if response.status_code == 200:
                    received.append(response.json()["lease_id"])
                    break
                assert response.status_code == 404, response.text

    threads = [threading.Thread(target=issue, args=(n,)) for n in (a, b, a, b)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(received) >= 4, timeout=30, interval=0.05, what="credentials")
        remount(a, "busy", "elsewhere")
        wait_for(lambda: any(i.startswith("elsewhere/") for i in received), timeout=30,
                 interval=0.05, what="credentials from the new path")  # fmt: skip
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    wait_for(
        lambda: b.call("LIST", "sys/leases/lookup/busy/").status_code == 404,
        timeout=45,
        interval=0.5,
        what="no lease left under the old path (the tick sweeps stragglers)",
    )
    listed = set(b.ok("LIST", "sys/leases/lookup/elsewhere/creds/ci/")["data"]["keys"])
    assert {i.rsplit("/", 1)[1] for i in received} == listed
    for lease_id in received:
        looked = a.ok("PUT", "sys/leases/lookup", json={"lease_id": lease_id})["data"]
        assert looked["id"] == "elsewhere/" + lease_id.split("/", 1)[1]
    assert len(users(world) - baseline) == len(received)
    b.ok("PUT", "sys/leases/revoke-prefix/elsewhere")
    assert users(world) == baseline
    assert "Traceback" not in cluster.logs()


def test_an_auth_method_moves_with_its_tokens(cluster: Cluster) -> None:
    a, b = cluster.nodes
    a.ok("POST", "sys/auth/approle", json={"type": "approle"})
    a.ok("POST", "auth/approle/role/r", json={"token_policies": ["default"], "token_ttl": "1h"})
    role_id = a.ok("GET", "auth/approle/role/r/role-id")["data"]["role_id"]
    secret_id = a.ok("POST", "auth/approle/role/r/secret-id")["data"]["secret_id"]
    login = b.server.request("POST", "auth/approle/login",
                             json={"role_id": role_id, "secret_id": secret_id})  # fmt: skip
    token = login.json()["auth"]["client_token"]
    [old_key] = a.ok("LIST", "sys/leases/lookup/auth/approle/login/")["data"]["keys"]

    remount(b, "auth/approle", "auth/machines")
    assert "machines/" in a.ok("GET", "sys/auth")["data"]
    assert a.server.request("GET", "auth/token/lookup-self", token=token).status_code == 200
    assert a.ok("LIST", "sys/leases/lookup/auth/machines/login/")["data"]["keys"] == [old_key]
    looked = a.ok("PUT", "sys/leases/lookup",
                  json={"lease_id": f"auth/approle/login/{old_key}"})["data"]  # fmt: skip
    assert (looked["id"], looked["path"]) == (
        f"auth/machines/login/{old_key}",
        "auth/machines/login",
    )
    # The token renews through its (moved) method, and logins go to the new path.
    renew = a.server.request("POST", "auth/token/renew-self", token=token)
    assert renew.status_code == 200, renew.text
    secret_id = a.ok("POST", "auth/machines/role/r/secret-id")["data"]["secret_id"]
    relogin = b.server.request("POST", "auth/machines/login",
                               json={"role_id": role_id, "secret_id": secret_id})  # fmt: skip
    assert relogin.status_code == 200, relogin.text
    b.ok("PUT", "sys/leases/revoke-prefix/auth/machines/login")
    assert a.server.request("GET", "auth/token/lookup-self", token=token).status_code == 403


# Each checked against `bao server -dev` (OpenBao 2.x): the body sent, the one error answered.
REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"from": "nope", "to": "sys/x"}, "cannot remount to destination sys/x/"),
    ({"from": "team", "to": "cubbyhole/x"}, "cannot remount to destination cubbyhole/x/"),
    ({"from": "team", "to": "identity"}, "cannot remount to destination identity/"),
    ({"from": "team", "to": "auth/x"}, "cannot remount to destination auth/x/"),
    ({"from": "nope", "to": "other"}, 'no matching mount at "nope/"'),
    ({"from": "sys", "to": "other"}, 'cannot remount "sys/"'),
    ({"from": "cubbyhole", "to": "other"}, 'cannot remount "cubbyhole/"'),
    ({"from": "auth/token", "to": "auth/t2"}, 'cannot remount "auth/token/"'),
    (
        {"from": "auth/nope", "to": "other"},
        'cannot remount auth mount to non-auth mount "other/"',
    ),
    ({"from": "auth/nope", "to": "auth/x"}, 'no matching mount at "auth/nope/"'),
    ({"from": "team", "to": "team"}, 'path already in use at "team/"'),
    ({"from": "team", "to": "team/sub"}, 'path already in use at "team/"'),
    ({"from": "team", "to": "held"}, 'path already in use at "held/"'),
    ({"from": "team"}, "both 'from' and 'to' path must be specified as a string"),
    ({"from": "team", "to": ""}, "both 'from' and 'to' path must be specified as a string"),
    ({}, "both 'from' and 'to' path must be specified as a string"),
]


def test_refusals_answer_as_openbao_and_change_nothing(cluster: Cluster) -> None:
    a, b = cluster.nodes
    for path in ("team", "held"):
        a.ok("POST", f"sys/mounts/{path}", json={"type": "aws"})
    before = a.ok("GET", "sys/mounts")["data"]
    for body, error in REFUSALS:
        assert errors(b, "POST", "sys/remount", 400, json=body) == [error], body
    assert a.ok("GET", "sys/mounts")["data"] == before
    assert b.call("LIST", "sys/leases/lookup/").status_code == 404  # no lease moved or made


def test_status_of_an_unknown_migration_is_a_bare_404_and_remount_needs_sudo(
    cluster: Cluster,
) -> None:
    a, _ = cluster.nodes
    assert errors(a, "GET", "sys/remount/status/no-such-id", 404) == []
    a.ok("PUT", "sys/policies/acl/movers", json={"policy": 'path "sys/remount" {\n'
                                                '  capabilities = ["update"]\n}\n'})  # fmt: skip
    token = a.ok("POST", "auth/token/create", json={"policies": ["movers"]})["auth"]
    response = a.server.request("POST", "sys/remount", token=token["client_token"],
                                json={"from": "x", "to": "y"})  # fmt: skip
    assert response.status_code == 403


def test_hvacs_move_backend_as_its_own_mount_test_does(root_client: hvac.Client) -> None:
    """hvac's `test_secret_backend_manipulation` (tests/hvac_suite deselects it: its setUp
    mounts kv), with an `aws` engine."""
    sys = root_client.sys
    sys.enable_secrets_engine(backend_type="aws", path="test")
    sys.tune_mount_configuration(path="test", default_lease_ttl="3600s", max_lease_ttl="8600s")
    sys.move_backend(from_path="test", to_path="foobar")
    mounts = sys.list_mounted_secrets_engines()["data"]
    assert "test/" not in mounts
    assert mounts["foobar/"]["config"]["max_lease_ttl"] == 8600  # tuning moves with it
    sys.disable_secrets_engine(path="foobar")
    assert "foobar/" not in sys.list_mounted_secrets_engines()["data"]
