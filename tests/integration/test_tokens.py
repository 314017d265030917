"""The token store over HTTP with hvac (reference §3 and rules 26-31 of §13)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import hvac
import hvac.exceptions
import pytest
import requests
from tests.support.server import ROOT_TOKEN, ServerProcess

POLICIES = {
    "alpha": 'path "sys/mounts" { capabilities = ["read"] }',
    "zeta": 'path "sys/policies/acl" { capabilities = ["list"] }',
    "creator": 'path "auth/token/create" { capabilities = ["create", "update"] }',
    "orphan-maker": 'path "auth/token/create-orphan" { capabilities = ["update"] }',
    "lister": 'path "auth/token/accessors" { capabilities = ["list"] }',
    "sudo-lister": 'path "auth/token/accessors" { capabilities = ["list", "sudo"] }',
    "orphaner": 'path "auth/token/revoke-orphan" { capabilities = ["update"] }',
}


@pytest.fixture(scope="module", autouse=True)
def _policies(root_client: hvac.Client) -> None:
    for name, text in POLICIES.items():
        root_client.sys.create_or_update_acl_policy(name, text)


def make(client: hvac.Client, **kwargs: Any) -> tuple[str, str]:
    """Create a token with `client`; returns (token, accessor)."""
    auth = client.auth.token.create(**kwargs)["auth"]
    return auth["client_token"], auth["accessor"]


def alive(server: ServerProcess, token: str) -> bool:
    """Whether the token still exists, asked by root (the token may lack the default policy)."""
    resp = server.request("POST", "auth/token/lookup", token=ROOT_TOKEN, json={"token": token})
    assert resp.status_code in (200, 403), resp.text
    return resp.status_code == 200


# ---- creation -----------------------------------------------------------------------------


def test_create_with_ttl(root_client: hvac.Client) -> None:
    resp = root_client.auth.token.create(policies=["zeta", "Alpha", "alpha"], ttl="1h")
    assert resp["data"] is None
    assert resp["warnings"] is None
    auth = resp["auth"]
    assert auth["client_token"].startswith("hvs.")
    assert auth["accessor"]
    assert auth["accessor"] != auth["client_token"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["policies"] == ["alpha", "default", "zeta"]
    assert auth["token_policies"] == ["alpha", "default", "zeta"]
    assert auth["orphan"] is False
    assert (auth["token_type"], auth["entity_id"], auth["num_uses"]) == ("service", "", 0)
    assert auth["metadata"] is None


def test_create_defaults_to_the_system_ttl_and_takes_one_string_as_one_policy(
    dev_server: ServerProcess,
) -> None:
    # As Vault (and OpenBao): a lone string is one policy name, commas and all.
    resp = dev_server.request(
        "POST", "auth/token/create", token=ROOT_TOKEN, json={"policies": "zeta, alpha"}
    )
    assert resp.status_code == 200
    auth = resp.json()["auth"]
    assert auth["policies"] == ["default", "zeta, alpha"]
    assert auth["lease_duration"] == 768 * 3600
    # An empty body is no data: a child of root with root's policies... which is root.
    empty = dev_server.request("POST", "auth/token/create", token=ROOT_TOKEN)
    assert empty.status_code == 200
    assert empty.json()["auth"]["policies"] == ["root"]


def test_unknown_policy_is_a_warning(root_client: hvac.Client) -> None:
    resp = root_client.auth.token.create(policies=["no-such-policy"])
    assert resp["auth"]["policies"] == ["default", "no-such-policy"]
    assert resp["warnings"] == ['Policy "no-such-policy" does not exist']


def test_explicit_max_ttl_caps_the_ttl(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    token, _ = make(root_client, ttl="30m", explicit_max_ttl="5m")
    data = root_client.auth.token.lookup(token)["data"]
    assert data["explicit_max_ttl"] == 300
    assert data["creation_ttl"] == 300
    assert 290 <= data["ttl"] <= 300
    renewed = dev_server.client(token).auth.token.renew_self(increment="1h")["auth"]
    assert renewed["lease_duration"] <= 300


def test_period(root_client: hvac.Client) -> None:
    resp = root_client.auth.token.create(period="30m", policies=["alpha"])
    assert resp["auth"]["lease_duration"] == 1800
    data = root_client.auth.token.lookup(resp["auth"]["client_token"])["data"]
    assert data["period"] == 1800
    renewed = root_client.auth.token.renew(resp["auth"]["client_token"], increment="5m")
    assert renewed["auth"]["lease_duration"] == 1800


def test_create_fields_show_in_lookup(root_client: hvac.Client) -> None:
    token, accessor = make(
        root_client,
        policies=["alpha"],
        ttl="2h",
        num_uses=5,
        meta={"team": "payments", "env": "test"},
        display_name="my app",
        renewable=False,
    )
    data = root_client.auth.token.lookup(token)["data"]
    assert data["id"] == token
    assert data["accessor"] == accessor
    assert data["display_name"] == "token-my-app"
    assert data["meta"] == {"team": "payments", "env": "test"}
    assert data["num_uses"] == 5
    assert data["renewable"] is False
    assert data["policies"] == ["alpha", "default"]
    assert data["path"] == "auth/token/create"
    assert data["creation_ttl"] == 7200
    assert 7190 <= data["ttl"] <= 7200
    assert data["explicit_max_ttl"] == 0
    assert data["orphan"] is False
    assert data["type"] == "service"
    assert data["entity_id"] == ""
    assert isinstance(data["creation_time"], int)
    assert isinstance(data["expire_time"], str)
    assert isinstance(data["issue_time"], str)
    assert "period" not in data
    default_name = root_client.auth.token.lookup(make(root_client, policies=["alpha"])[0])
    assert default_name["data"]["display_name"] == "token-token"


def test_root_token_lookup(root_client: hvac.Client) -> None:
    data = root_client.auth.token.lookup_self()["data"]
    assert data["id"] == ROOT_TOKEN
    assert data["policies"] == ["root"]
    assert (data["ttl"], data["creation_ttl"], data["expire_time"]) == (0, 0, None)
    assert data["path"] == "auth/token/root"
    assert data["orphan"] is True


def test_no_default_policy(root_client: hvac.Client) -> None:
    token, _ = make(root_client, policies=["alpha"], no_default_policy=True)
    assert root_client.auth.token.lookup(token)["data"]["policies"] == ["alpha"]


# ---- lookups ---------------------------------------------------------------------------


def test_lookup_lookup_self_and_lookup_accessor(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token, accessor = make(root_client, policies=["alpha"], ttl="1h")
    assert root_client.auth.token.lookup(token)["data"]["id"] == token
    self_data = dev_server.client(token).auth.token.lookup_self()["data"]
    assert (self_data["id"], self_data["accessor"]) == (token, accessor)
    by_accessor = root_client.auth.token.lookup_accessor(accessor)["data"]
    assert by_accessor["accessor"] == accessor
    assert by_accessor["id"] == ""
    assert by_accessor["policies"] == ["alpha", "default"]
    legacy = dev_server.request("GET", f"auth/token/lookup/{token}", token=ROOT_TOKEN)
    assert legacy.status_code == 200
    assert legacy.json()["data"]["id"] == token


def test_lookup_of_unknown_token_and_accessor(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.Forbidden, match="bad token"):
        root_client.auth.token.lookup("hvs.doesnotexist")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid accessor"):
        root_client.auth.token.lookup_accessor("nosuchaccessor")


def test_a_default_policy_token_cannot_look_up_others(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token, accessor = make(root_client, policies=["alpha"])
    other, _ = make(root_client, policies=["alpha"])
    client = dev_server.client(token)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup(other)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_accessor(accessor)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.create(policies=["alpha"])


# ---- renewal -------------------------------------------------------------------------------


def test_renew_and_renew_self(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    token, accessor = make(root_client, policies=["alpha"], ttl="1h")
    renewed = root_client.auth.token.renew(token, increment="2h")
    assert renewed["auth"]["client_token"] == token
    assert renewed["auth"]["lease_duration"] == 7200
    data = root_client.auth.token.lookup(token)["data"]
    assert 7190 <= data["ttl"] <= 7200
    assert data["last_renewal_time"] >= data["creation_time"]
    own = dev_server.client(token).auth.token.renew_self(increment=600)
    assert own["auth"]["client_token"] == token
    assert own["auth"]["lease_duration"] == 600
    # Without an increment the token gets its original TTL back.
    back = dev_server.client(token).auth.token.renew_self()
    assert back["auth"]["lease_duration"] == 3600
    by_accessor = root_client.auth.token.renew_accessor(accessor, increment="30m")
    assert by_accessor["auth"]["client_token"] == ""
    assert by_accessor["auth"]["accessor"] == accessor
    assert by_accessor["auth"]["lease_duration"] == 1800


def test_non_renewable_token_cannot_be_renewed(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token, _ = make(root_client, policies=["alpha"], ttl="1h", renewable=False)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="not renewable"):
        root_client.auth.token.renew(token)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="not renewable"):
        dev_server.client(token).auth.token.renew_self()
    assert root_client.auth.token.lookup(token)["data"]["ttl"] <= 3600


# ---- revocation ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["revoke", "revoke_self", "revoke_accessor"])
def test_revocation(dev_server: ServerProcess, root_client: hvac.Client, how: str) -> None:
    token, accessor = make(root_client, policies=["alpha"])
    assert alive(dev_server, token)
    if how == "revoke":
        resp = root_client.auth.token.revoke(token)
    elif how == "revoke_self":
        resp = dev_server.client(token).auth.token.revoke_self()
    else:
        resp = root_client.auth.token.revoke_accessor(accessor)
    assert resp.status_code == 204
    with pytest.raises(hvac.exceptions.Forbidden):
        root_client.auth.token.lookup(token)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid accessor"):
        root_client.auth.token.lookup_accessor(accessor)
    with pytest.raises(hvac.exceptions.Forbidden, match="permission denied"):
        dev_server.client(token).auth.token.lookup_self()
    assert dev_server.client(token).is_authenticated() is False
    # Revoking an unknown token again is not an error.
    assert root_client.auth.token.revoke(token).status_code == 204


def test_revoking_a_parent_revokes_its_tree_but_not_orphans(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    parent, _ = make(root_client, policies=["creator", "orphan-maker", "alpha"])
    parent_client = dev_server.client(parent)
    child, _ = make(parent_client, policies=["creator", "alpha"])
    grandchild, _ = make(dev_server.client(child), policies=["alpha"])
    orphan = parent_client.auth.token.create_orphan(policies=["alpha"])["auth"]
    assert orphan["orphan"] is True
    assert root_client.auth.token.lookup(child)["data"]["orphan"] is False

    root_client.auth.token.revoke(parent)
    for token in (parent, child, grandchild):
        assert not alive(dev_server, token)
        with pytest.raises(hvac.exceptions.Forbidden):
            root_client.auth.token.lookup(token)
    assert alive(dev_server, orphan["client_token"])


def test_revoke_orphan_keeps_children_as_orphans(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    parent, _ = make(root_client, policies=["creator", "alpha"])
    child, _ = make(dev_server.client(parent), policies=["creator", "alpha"])
    grandchild, _ = make(dev_server.client(child), policies=["alpha"])

    resp = root_client.auth.token.revoke_and_orphan_children(parent)
    assert resp.status_code == 204
    assert not alive(dev_server, parent)
    assert alive(dev_server, child)
    assert root_client.auth.token.lookup(child)["data"]["orphan"] is True
    assert root_client.auth.token.lookup(grandchild)["data"]["orphan"] is False
    # The grandchild still belongs to the (now orphaned) child.
    root_client.auth.token.revoke(child)
    assert not alive(dev_server, grandchild)


def test_revoke_orphan_needs_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    victim, _ = make(root_client, policies=["alpha"])
    caller, _ = make(root_client, policies=["orphaner"])
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(caller).auth.token.revoke_and_orphan_children(victim)
    assert alive(dev_server, victim)


# ---- limited uses --------------------------------------------------------------------------


def test_num_uses_two_works_twice(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    token, _ = make(root_client, policies=["alpha"], num_uses=2)
    client = dev_server.client(token)
    first = client.sys.list_mounted_secrets_engines()
    assert "aws/" in first["data"]
    assert root_client.auth.token.lookup(token)["data"]["num_uses"] == 1
    client.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        root_client.auth.token.lookup(token)


def test_num_uses_one_works_exactly_once(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token, _ = make(root_client, policies=["alpha"], num_uses=1)
    client = dev_server.client(token)
    assert client.auth.token.lookup_self()["data"]["id"] == token
    with pytest.raises(hvac.exceptions.Forbidden):
        client.auth.token.lookup_self()


def test_negative_num_uses_is_refused(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.auth.token.create(policies=["alpha"], num_uses=-1)


# ---- what a non-root parent may create ---------------------------------------------------


def test_child_policies_must_be_a_subset_of_the_parent(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    parent, _ = make(root_client, policies=["creator", "alpha"])
    client = dev_server.client(parent)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="child policies must be subset"):
        client.auth.token.create(policies=["zeta"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="child policies must be subset"):
        client.auth.token.create(policies=["alpha", "zeta"])
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.auth.token.create(policies=["root"])
    assert make(client, policies=["alpha"])[0]
    inherited = client.auth.token.create()["auth"]
    assert inherited["policies"] == ["alpha", "creator", "default"]


def test_no_parent_needs_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    parent, _ = make(root_client, policies=["creator", "alpha"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="root or sudo privileges required"):
        dev_server.client(parent).auth.token.create(policies=["alpha"], no_parent=True)
    orphan = root_client.auth.token.create(policies=["alpha"], no_parent=True)["auth"]
    assert orphan["orphan"] is True
    assert root_client.auth.token.lookup(orphan["client_token"])["data"]["orphan"] is True


def test_create_orphan_needs_only_its_own_path(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    parent, _ = make(root_client, policies=["orphan-maker"], no_default_policy=True)
    client = dev_server.client(parent)
    auth = client.auth.token.create_orphan()["auth"]
    assert auth["orphan"] is True
    assert auth["policies"] == ["orphan-maker"]
    root_client.auth.token.revoke(parent)
    assert alive(dev_server, auth["client_token"])
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(auth["client_token"]).auth.token.create()


def test_periodic_tokens_need_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    parent, _ = make(root_client, policies=["creator", "alpha"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="root or sudo"):
        dev_server.client(parent).auth.token.create(policies=["alpha"], period="1h")


def test_listing_accessors_needs_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    plain, _ = make(root_client, policies=["lister"])
    sudo, sudo_accessor = make(root_client, policies=["sudo-lister"])
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(plain).auth.token.list_accessors()
    keys = dev_server.client(sudo).auth.token.list_accessors()["data"]["keys"]
    assert sudo_accessor in keys
    assert sudo_accessor in root_client.auth.token.list_accessors()["data"]["keys"]
    listed = dev_server.request("GET", "auth/token/accessors", token=sudo, params={"list": "true"})
    assert listed.json()["data"]["keys"] == keys


def test_custom_id_needs_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    custom = f"custom-{uuid.uuid4().hex}"
    parent, _ = make(root_client, policies=["creator", "alpha"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="root or sudo privileges required"):
        dev_server.client(parent).auth.token.create(id=custom, policies=["alpha"])
    assert not alive(dev_server, custom)
    auth = root_client.auth.token.create(id=custom, policies=["alpha"])["auth"]
    assert auth["client_token"] == custom
    assert root_client.auth.token.lookup(custom)["data"]["id"] == custom
    assert dev_server.client(custom).is_authenticated() is True
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.auth.token.create(id=custom, policies=["alpha"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="period"):
        root_client.auth.token.create(id="has.a.period", policies=["alpha"])


# ---- what we deliberately do not support: a clear 400 -------------------------------------


def test_batch_tokens_and_unknown_roles_are_refused(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest, match="only service tokens"):
        root_client.auth.token.create(type="batch")
    assert root_client.auth.token.create(type="service")["auth"]["token_type"] == "service"
    with pytest.raises(hvac.exceptions.InvalidRequest, match="unknown role nope"):
        root_client.auth.token.create(role_name="nope")


def test_concurrent_uses_never_exceed_num_uses(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token, _ = make(root_client, policies=["alpha"], num_uses=5)
    url = dev_server.v1("sys/mounts")

    def use(_: int) -> int:
        with requests.Session() as session:
            return session.get(url, headers={"X-Vault-Token": token}, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(use, range(20)))
    assert statuses.count(200) == 5, statuses
    assert statuses.count(403) == 15, statuses
    assert not alive(dev_server, token)
