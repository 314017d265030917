"""Token roles end to end: a real dev server over HTTP, driven by hvac's `client.auth.token`
role methods (`create_or_update_role`, `read_role`, `list_roles`, `delete_role`,
`create(role_name=...)`), with hvac's own integration tests for them first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidPath, InvalidRequest
from tests.integration.test_auth_approle import request_from
from tests.support.server import ServerProcess


@pytest.fixture(autouse=True)
def no_roles_left(root_client: hvac.Client) -> Iterator[None]:
    """Each test starts and ends with no token roles (the server is shared by the module)."""
    yield
    listed = root_client.list("auth/token/roles")
    for name in (listed or {}).get("data", {}).get("keys", []):
        root_client.auth.token.delete_role(name)


def user(root: hvac.Client, server: ServerProcess, *roles: str) -> hvac.Client:
    """A client whose token (no sudo, policy `user` only) may create tokens with `roles`."""
    rules = "".join(
        f'path "auth/token/create/{r}" {{ capabilities = ["update"] }}\n' for r in roles
    )
    root.sys.create_or_update_policy("user", rules or 'path "x" { capabilities = ["deny"] }')
    token = root.auth.token.create(policies=["user"], ttl="1h")["auth"]["client_token"]
    return server.client(token)


# ---- hvac's own integration tests (tests/integration_tests/api/auth_methods/test_token.py) ----


def test_hvac_token_roles(root_client: hvac.Client) -> None:
    with pytest.raises(InvalidPath):
        root_client.auth.token.list_roles()
    try:
        assert root_client.auth.token.create_or_update_role("testrole").status_code == 204
        during = root_client.auth.token.list_roles()["data"]["keys"]
        assert len(during) == 1
        assert during[0] == "testrole"
    finally:
        root_client.auth.token.delete_role("testrole")
    with pytest.raises(InvalidPath):
        root_client.auth.token.list_roles()


def test_hvac_create_token_w_role(root_client: hvac.Client) -> None:
    root_client.sys.create_or_update_policy("testpolicy", 'path "x" { capabilities = ["read"] }')
    assert (
        root_client.auth.token.create_or_update_role(
            "testrole", allowed_policies="testpolicy"
        ).status_code
        == 204
    )
    token = root_client.auth.token.create(ttl="1h", role_name="testrole")
    assert token["auth"]["client_token"]
    assert token["auth"]["policies"] == ["default", "testpolicy"]
    root_client.auth.token.delete_role("testrole")
    root_client.sys.delete_policy("testpolicy")


# ---- reading a role back ----------------------------------------------------------------------


def test_read_role_answers_vaults_fields(root_client: hvac.Client) -> None:
    root_client.auth.token.create_or_update_role(
        "deploy",
        allowed_policies=["deployer", "reader"],
        disallowed_policies="admin",
        orphan=True,
        renewable=True,
        path_suffix="ci",
        allowed_entity_aliases=["github"],
        token_period="30m",
        token_explicit_max_ttl="2h",
    )
    data = root_client.auth.token.read_role("deploy")["data"]
    assert data["name"] == "deploy"
    assert data["allowed_policies"] == ["deployer", "reader"]
    assert data["disallowed_policies"] == ["admin"]
    assert (data["orphan"], data["renewable"], data["path_suffix"]) == (True, True, "ci")
    assert data["allowed_entity_aliases"] == ["github"]
    assert (data["token_period"], data["token_explicit_max_ttl"]) == (1800, 7200)
    assert data["token_type"] == "default-service"
    assert "token_num_uses" not in data  # as Vault: only when set
    root_client.auth.token.delete_role("deploy")
    with pytest.raises(InvalidPath):
        root_client.auth.token.read_role("deploy")


def test_bad_role_fields_are_a_400_naming_them(root_client: hvac.Client) -> None:
    with pytest.raises(InvalidRequest, match="batch tokens are not supported"):
        root_client.write_data("auth/token/roles/r", data={"token_type": "batch"})
    with pytest.raises(InvalidRequest, match="invalid CIDR block in token_bound_cidrs: 'x'"):
        root_client.write_data("auth/token/roles/r", data={"token_bound_cidrs": ["x"]})
    with pytest.raises(InvalidRequest, match=r"path_suffix cannot contain '\.\.'"):
        root_client.auth.token.create_or_update_role("r", path_suffix="../x")
    with pytest.raises(InvalidRequest, match="unknown role nope"):
        root_client.auth.token.create(role_name="nope")


# ---- what a role's token gets ------------------------------------------------------------------


def test_policies_subset_disallowed_and_globs(root_client: hvac.Client) -> None:
    root_client.write_data(
        "auth/token/roles/team",
        data={
            "allowed_policies": ["reader"],
            "allowed_policies_glob": ["team-*"],
            "disallowed_policies_glob": ["*-admin"],
        },
    )
    create = root_client.auth.token.create
    assert create(role_name="team")["auth"]["policies"] == ["default", "reader"]
    assert create(role_name="team", policies=["team-a"])["auth"]["policies"] == [
        "default",
        "team-a",
    ]
    with pytest.raises(InvalidRequest, match="must be subset of the role's allowed policies"):
        create(role_name="team", policies=["writer"])
    with pytest.raises(InvalidRequest, match='token policy "team-admin" is disallowed'):
        create(role_name="team", policies=["team-admin"])
    root_client.write_data(
        "auth/token/roles/nodefault",
        data={"allowed_policies": ["reader"], "disallowed_policies": ["default"]},
    )
    assert create(role_name="nodefault")["auth"]["policies"] == ["reader"]


def test_a_role_lets_a_caller_grant_what_it_does_not_hold(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    root_client.auth.token.create_or_update_role("deploy", allowed_policies=["deployer"])
    root_client.auth.token.create_or_update_role("other", allowed_policies=["deployer"])
    caller = user(root_client, dev_server, "deploy")
    auth = caller.auth.token.create(role_name="deploy")["auth"]
    assert auth["policies"] == ["default", "deployer"]
    with pytest.raises(Forbidden):  # the ACL decides who may use a role
        caller.auth.token.create(role_name="other")
    with pytest.raises(Forbidden):
        caller.auth.token.create(policies=["deployer"])


def test_orphan_role_needs_no_sudo_and_outlives_its_creator(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    root_client.auth.token.create_or_update_role("orphans", allowed_policies=["a"], orphan=True)
    caller = user(root_client, dev_server, "orphans")
    auth = caller.auth.token.create(role_name="orphans")["auth"]
    assert auth["orphan"] is True
    root_client.auth.token.revoke(caller.token)
    data = root_client.auth.token.lookup(auth["client_token"])["data"]
    assert (data["orphan"], data["role"]) == (True, "orphans")


def test_period_renewal(root_client: hvac.Client, dev_server: ServerProcess) -> None:
    root_client.auth.token.create_or_update_role(
        "periodic", allowed_policies=["a"], token_period="30m"
    )
    caller = user(root_client, dev_server, "periodic")
    auth = caller.auth.token.create(role_name="periodic", ttl="1m")["auth"]
    assert auth["lease_duration"] == 1800
    client = dev_server.client(auth["client_token"])
    assert client.auth.token.lookup_self()["data"]["period"] == 1800
    assert client.auth.token.renew_self(increment="1m")["auth"]["lease_duration"] == 1800


def test_explicit_max_ttl_and_not_renewable(root_client: hvac.Client) -> None:
    root_client.auth.token.create_or_update_role(
        "short", token_explicit_max_ttl="10m", renewable=False
    )
    auth = root_client.auth.token.create(role_name="short", ttl="1h")["auth"]
    assert (auth["lease_duration"], auth["renewable"]) == (600, False)
    with pytest.raises(InvalidRequest, match="not renewable"):
        root_client.auth.token.renew(auth["client_token"])


def test_bound_cidrs_refuse_another_address(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    root_client.write_data(
        "auth/token/roles/local",
        data={"allowed_policies": ["default"], "token_bound_cidrs": ["127.0.0.1/32"]},
    )
    token = root_client.auth.token.create(role_name="local")["auth"]["client_token"]
    status, body = request_from(dev_server, "127.0.0.1", "GET", "auth/token/lookup-self", token)
    assert status == 200
    assert body["data"]["bound_cidrs"] == ["127.0.0.1/32"]
    status, body = request_from(dev_server, "127.0.0.2", "GET", "auth/token/lookup-self", token)
    assert (status, body["errors"]) == (403, ["permission denied"])


def test_path_suffix_and_revoke_prefix(root_client: hvac.Client) -> None:
    root_client.auth.token.create_or_update_role("ci", allowed_policies="a", path_suffix="repo-a")
    root_client.auth.token.create_or_update_role("ci2", allowed_policies="a")
    tokens: list[Any] = [root_client.auth.token.create(role_name="ci")["auth"] for _ in range(2)]
    kept = root_client.auth.token.create(role_name="ci2")["auth"]["client_token"]
    path = root_client.auth.token.lookup(tokens[0]["client_token"])["data"]["path"]
    assert path == "auth/token/create/ci/repo-a"
    root_client.sys.revoke_prefix("auth/token/create/ci")
    for auth in tokens:
        with pytest.raises(Forbidden):
            root_client.auth.token.lookup(auth["client_token"])
    assert root_client.auth.token.lookup(kept)["data"]["path"] == "auth/token/create/ci2"
