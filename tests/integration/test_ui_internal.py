"""What the web console asks the API, over HTTP against a dev server: `listing_visibility`
tuning, `sys/internal/ui/resultant-acl` and `sys/internal/ui/mounts` in the shapes OpenBao
answers (taken from `bao server -dev` 2.x), and our `sys/leases/self`."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest
import requests
from tests.support import postgres
from tests.support.cluster import Cluster, start_cluster
from tests.support.reliability import MOUNT, ROLE, AWSWorld
from tests.support.server import ROOT_TOKEN, ServerFactory, ServerProcess

LIMITED = """
path "aws/creds/dev" { capabilities = ["read", "update"] }
path "aws/roles/+" { capabilities = ["read"] }
path "aws/sts/*" { capabilities = ["read", "update"] }
path "secret/data/x" { capabilities = ["deny"] }
"""


@pytest.fixture(scope="module")
def limited(root_client: hvac.Client) -> str:
    root_client.sys.create_or_update_policy("ui-limited", LIMITED)
    token: str = root_client.auth.token.create(policies=["ui-limited"])["auth"]["client_token"]
    return token


@pytest.fixture(scope="module")
def sso(root_client: hvac.Client) -> Iterator[str]:
    root_client.sys.enable_auth_method("oidc", path="sso", description="Company SSO")
    try:
        yield "sso"
    finally:
        root_client.sys.disable_auth_method("sso")


def test_listing_visibility_is_tuned_read_and_checked(
    root_client: hvac.Client, dev_server: ServerProcess, sso: str
) -> None:
    for kind, path in (("auth", sso), ("mounts", "aws")):
        for value in ("unauth", "hidden", ""):
            answer = dev_server.request(
                "POST", f"sys/{kind}/{path}/tune", ROOT_TOKEN, json={"listing_visibility": value}
            )
            assert answer.status_code == 204, answer.text
            tuned = dev_server.request("GET", f"sys/{kind}/{path}/tune", ROOT_TOKEN).json()
            assert tuned["data"].get("listing_visibility", "") == value
        refused = dev_server.request(
            "POST", f"sys/{kind}/{path}/tune", ROOT_TOKEN, json={"listing_visibility": "bogus"}
        )
        assert refused.status_code == 400
        assert refused.json() == {"errors": ["invalid listing_visibility bogus"]}


def test_resultant_acl_merges_the_tokens_policies(
    root_client: hvac.Client, dev_server: ServerProcess, limited: str
) -> None:
    assert dev_server.client(ROOT_TOKEN).read("sys/internal/ui/resultant-acl")["data"] == {
        "root": True
    }
    data = dev_server.client(limited).read("sys/internal/ui/resultant-acl")["data"]
    assert data["root"] is False
    assert data["exact_paths"]["aws/creds/dev"] == {"capabilities": ["read", "update"]}
    assert data["exact_paths"]["secret/data/x"] == {"capabilities": ["deny"]}
    assert data["exact_paths"]["sys/leases/self"] == {"capabilities": ["read"]}
    assert data["glob_paths"]["aws/sts/"] == {"capabilities": ["read", "update"]}
    assert data["glob_paths"]["cubbyhole/"]["capabilities"] == [
        "create",
        "delete",
        "list",
        "read",
        "update",
    ]
    assert not any("+" in path for path in data["exact_paths"])  # as OpenBao: left out
    assert dev_server.request("GET", "sys/internal/ui/resultant-acl").status_code == 403


def test_mounts_without_a_token_show_only_what_is_listed_unauth(
    root_client: hvac.Client, dev_server: ServerProcess, sso: str, limited: str
) -> None:
    root_client.sys.tune_auth_method(sso, listing_visibility="unauth")
    try:
        answer = dev_server.request("GET", "sys/internal/ui/mounts")
        assert answer.status_code == 200
        assert answer.json()["data"] == {
            "auth": {"sso/": {"description": "Company SSO", "options": None, "type": "oidc"}},
            "secret": {},
        }
        with_token = dev_server.client(limited).read("sys/internal/ui/mounts")["data"]
        assert set(with_token["auth"]) == {"sso/", "token/"}
        # (cubbyhole/ too where it is mounted: the default policy reaches it)
        # sys/ and cubbyhole/ too, as OpenBao lists them: the default policy reaches both
        assert set(with_token["secret"]) == {"aws/", "cubbyhole/", "sys/"}
        assert with_token["secret"]["sys/"]["type"] == "system"
        assert with_token["secret"]["sys/"]["description"] == (
            "system endpoints used for control, policy and debugging"
        )
        assert with_token["secret"]["aws/"]["type"] == "aws"
        assert with_token["auth"]["sso/"]["config"]["listing_visibility"] == "unauth"
        everything = dev_server.client(ROOT_TOKEN).read("sys/internal/ui/mounts")["data"]
        assert {"aws/", "cubbyhole/", "sys/"} <= set(everything["secret"])
        bad = dev_server.request("GET", "sys/internal/ui/mounts", "not-a-token")
        assert (bad.status_code, bad.json()) == (403, {"errors": ["permission denied"]})
    finally:
        root_client.sys.tune_auth_method(sso, listing_visibility="")


def test_one_mount_is_read_only_where_the_token_reaches(
    dev_server: ServerProcess, limited: str
) -> None:
    aws = dev_server.client(limited).read("sys/internal/ui/mounts/aws/creds/dev")["data"]
    assert (aws["path"], aws["type"]) == ("aws/", "aws")
    refused = dev_server.request("GET", "sys/internal/ui/mounts/nope", limited)
    assert refused.status_code == 403
    assert refused.json()["errors"] == [
        "preflight capability check returned 403, please ensure client's policies grant "
        'access to path "nope/"'
    ]
    assert dev_server.request("GET", "sys/internal/ui/mounts/aws").status_code == 403


def test_a_token_lists_and_revokes_only_its_own_leases(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    """The refusals here; listing, renewing and revoking real AWS leases are in
    test_ui_console.py."""
    mine = root_client.auth.token.create(policies=["default"])["auth"]["client_token"]
    other = root_client.auth.token.create(policies=["default"])["auth"]["client_token"]
    empty = dev_server.client(mine).read("sys/leases/self")["data"]
    assert empty == {"leases": [], "lease_count": 0}
    refused = dev_server.request(
        "POST", "sys/leases/self/revoke", other, json={"lease_id": "aws/creds/x/abc"}
    )
    assert refused.status_code == 400
    assert refused.json() == {"errors": ["invalid lease: not a lease of the calling token"]}
    missing = dev_server.request("POST", "sys/leases/self/revoke", mine, json={})
    assert (missing.status_code, missing.json()) == (
        400,
        {"errors": ["lease_id must be specified"]},
    )
    assert dev_server.request("GET", "sys/leases/self").status_code == 403


@pytest.fixture
def two_nodes(pg_dsn: str, servers: ServerFactory) -> Iterator[tuple[Cluster, AWSWorld]]:
    table = postgres.fresh_table_name()
    world = AWSWorld()
    world.start()
    try:
        cluster = start_cluster(servers, ("postgresql", pg_dsn, table), 2)
        cluster.nodes[0].configure_aws(world, max_retries=0)
        yield cluster, world
    finally:
        servers.close()
        world.stop()
        postgres.drop_table(pg_dsn, table)


@pytest.mark.postgres
def test_what_the_console_reads_is_the_same_on_every_node(
    two_nodes: tuple[Cluster, AWSWorld],
) -> None:
    """A lease issued through one node is the token's own on the other, and revoked there; a
    mount tuned on one is listed before sign-in by the other."""
    cluster, _ = two_nodes
    first, second = cluster.nodes
    policy = f'path "{MOUNT}/creds/{ROLE}" {{ capabilities = ["read"] }}'
    first.ok("PUT", "sys/policies/acl/creds", json={"policy": policy})
    token = first.ok("POST", "auth/token/create", json={"policies": ["creds"]})["auth"][
        "client_token"
    ]
    lease_id = first.server.request("GET", f"{MOUNT}/creds/{ROLE}", token=token).json()["lease_id"]
    listed = second.server.request("GET", "sys/leases/self", token=token).json()["data"]
    assert [lease["lease_id"] for lease in listed["leases"]] == [lease_id]
    revoked = second.server.request(
        "POST", "sys/leases/self/revoke", token=token, json={"lease_id": lease_id}
    )
    assert revoked.status_code == 204, revoked.text
    after = first.server.request("GET", "sys/leases/self", token=token).json()["data"]
    assert after["leases"] == []

    first.ok("POST", f"sys/mounts/{MOUNT}/tune", json={"listing_visibility": "unauth"})
    shown = second.server.request("GET", "sys/internal/ui/mounts").json()["data"]
    assert set(shown["secret"]) == {f"{MOUNT}/"}


def test_the_console_can_be_turned_off_and_its_idle_time_set(servers: ServerFactory) -> None:
    """`ui = false` answers 404 under /ui/ (the API is unchanged); `ui_idle_timeout` is the
    idle sign-out time the page is given."""
    off = servers.sqlite(settings={"ui": "false"})
    for path in ("/ui/", "/ui/app.js", "/ui/oidc/callback"):
        answer = requests.get(off.url + path, timeout=10)
        assert answer.status_code == 404, path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
    assert requests.get(off.v1("sys/health"), timeout=10).status_code in (200, 501)
    tuned = servers.sqlite(settings={"ui_idle_timeout": "5m"})
    page = requests.get(tuned.url + "/ui/", timeout=10)
    assert page.status_code == 200
    assert '<meta name="awsbroker-idle-seconds" content="300">' in page.text
