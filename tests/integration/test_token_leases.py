"""Tokens in the lease API, as Vault lists its token leases, on two nodes of one PostgreSQL
table: a token made on one node is listed, looked up and revoked through `sys/leases/*` on the
other. The lease ID is `<creation path>/h<HMAC of the token>` (shape checked against
`bao server -dev`): the token itself never appears in it."""

from __future__ import annotations

import re

import hvac
import hvac.exceptions
import pytest
from tests.support.cluster import Cluster, start_cluster
from tests.support.server import ServerFactory

pytestmark = pytest.mark.postgres
HASHED = re.compile(r"^h[0-9a-f]{64}$")


@pytest.fixture
def cluster(pg_dsn: str, pg_table: str, servers: ServerFactory) -> Cluster:
    return start_cluster(servers, ("postgresql", pg_dsn, pg_table), 2)


def keys(cluster: Cluster, node: int, prefix: str) -> list[str]:
    response = cluster.nodes[node].call("LIST", f"sys/leases/lookup/{prefix}")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["data"]["keys"]
    return found


def test_token_leases_are_listed_looked_up_and_revoked_across_nodes(cluster: Cluster) -> None:
    a, b = cluster.nodes
    made = a.ok("POST", "auth/token/create", json={"ttl": "1h", "policies": ["default"]})
    token = made["auth"]["client_token"]
    assert keys(cluster, 1, "") == ["auth/"]
    assert keys(cluster, 1, "auth/") == ["token/"]
    assert keys(cluster, 1, "auth/token/") == ["create/"]
    [key] = keys(cluster, 1, "auth/token/create/")  # the root token never expires: no lease
    assert HASHED.match(key)
    assert token.removeprefix("hvs.") not in key

    lease_id = f"auth/token/create/{key}"
    looked = b.ok("PUT", "sys/leases/lookup", json={"lease_id": lease_id})["data"]
    assert looked["id"] == lease_id
    assert looked["path"] == "auth/token/create"
    assert looked["renewable"] is True
    assert 3500 < looked["ttl"] <= 3600
    assert looked["expire_time"].endswith("Z")
    assert looked["last_renewal"] is None

    # A token is renewed through auth/token/renew, as in Vault; its lease then says so.
    refused = b.call("PUT", "sys/leases/renew", json={"lease_id": lease_id})
    assert refused.status_code == 400
    assert refused.json()["errors"] == ["tokens cannot be renewed through this endpoint"]
    a.ok("POST", "auth/token/renew", json={"token": token, "increment": "2h"})
    looked = b.ok("PUT", "sys/leases/lookup", json={"lease_id": lease_id})["data"]
    assert looked["last_renewal"] is not None

    b.ok("PUT", "sys/leases/revoke", json={"lease_id": lease_id})
    assert a.server.request("GET", "auth/token/lookup-self", token=token).status_code == 403
    assert keys(cluster, 0, "auth/token/create/") == []
    gone = a.call("PUT", "sys/leases/lookup", json={"lease_id": lease_id})
    assert (gone.status_code, gone.json()["errors"]) == (400, ["invalid lease"])


def test_revoke_prefix_of_the_creation_path_revokes_those_tokens(cluster: Cluster) -> None:
    a, b = cluster.nodes
    a.ok("POST", "auth/token/roles/ci", json={"allowed_policies": ["default"]})
    plain = a.ok("POST", "auth/token/create", json={"ttl": "1h"})["auth"]["client_token"]
    roled = b.ok("POST", "auth/token/create/ci", json={"ttl": "1h"})["auth"]["client_token"]
    assert "ci/" in keys(cluster, 0, "auth/token/create/")
    assert len(keys(cluster, 0, "auth/token/create/ci/")) == 1

    b.ok("PUT", "sys/leases/revoke-prefix/auth/token/create/ci")
    assert a.server.request("GET", "auth/token/lookup-self", token=roled).status_code == 403
    assert a.server.request("GET", "auth/token/lookup-self", token=plain).status_code == 200
    a.ok("PUT", "sys/leases/revoke-prefix/auth/token/create")
    assert b.server.request("GET", "auth/token/lookup-self", token=plain).status_code == 403
    # The root token has no lease, so no prefix revokes it (unlike OpenBao's dev root token).
    assert a.call("GET", "auth/token/lookup-self").status_code == 200


def test_a_queued_revocation_ends_the_token_at_once(cluster: Cluster) -> None:
    a, b = cluster.nodes
    token = a.ok("POST", "auth/token/create", json={"ttl": "1h"})["auth"]["client_token"]
    [key] = keys(cluster, 0, "auth/token/create/")
    response = b.call(
        "PUT", "sys/leases/revoke", json={"lease_id": f"auth/token/create/{key}", "sync": False}
    )
    assert response.status_code == 202
    assert a.server.request("GET", "auth/token/lookup-self", token=token).status_code == 403


def test_logins_have_leases_under_their_login_path(cluster: Cluster) -> None:
    a, b = cluster.nodes
    a.ok("POST", "sys/auth/approle", json={"type": "approle"})
    a.ok("POST", "auth/approle/role/r", json={"token_policies": ["default"], "token_ttl": "1h"})
    role_id = a.ok("GET", "auth/approle/role/r/role-id")["data"]["role_id"]
    secret_id = a.ok("POST", "auth/approle/role/r/secret-id")["data"]["secret_id"]
    login = b.server.request(
        "POST", "auth/approle/login", json={"role_id": role_id, "secret_id": secret_id}
    )
    token = login.json()["auth"]["client_token"]
    [key] = keys(cluster, 0, "auth/approle/login/")
    lease_id = f"auth/approle/login/{key}"
    assert a.ok("PUT", "sys/leases/lookup", json={"lease_id": lease_id})["data"]["id"] == lease_id
    # A lease ID naming another path (or none) is not this token's.
    other_digit = "1" if key[-1] == "0" else "0"
    for wrong in (f"auth/token/create/{key}", key, f"auth/approle/login/{key[:-1]}{other_digit}"):
        response = b.call("PUT", "sys/leases/lookup", json={"lease_id": wrong})
        assert response.status_code == 400, wrong
    b.ok("PUT", "sys/leases/revoke", json={"lease_id": lease_id})
    assert a.server.request("GET", "auth/token/lookup-self", token=token).status_code == 403


def test_hvacs_lease_methods_on_token_leases(root_client: hvac.Client) -> None:
    """hvac's lease tests (tests/hvac_suite deselects them: their setUp mounts pki), on the
    leases of tokens."""
    sys = root_client.sys
    create = root_client.auth.token.create
    for _ in range(4):
        create(policies=["default"], ttl="1h")
    [first, second, third, fourth] = sys.list_leases(prefix="auth/token/create")["data"]["keys"]
    lease_id = f"auth/token/create/{first}"
    assert sys.read_lease(lease_id=lease_id)["data"]["id"] == lease_id
    assert sys.revoke_lease(lease_id=lease_id).status_code == 204
    assert sys.revoke_prefix(prefix=f"auth/token/create/{second}").status_code == 204
    assert sys.revoke_force(f"auth/token/create/{third}").status_code == 204
    assert sys.list_leases(prefix="auth/token/create")["data"]["keys"] == [fourth]
    sys.revoke_prefix(prefix="auth/token/create")
    with pytest.raises(hvac.exceptions.InvalidPath):
        sys.list_leases(prefix="auth/token/create")
