"""Auth methods and AppRole end to end: a real dev server over HTTP, driven by hvac's own
`client.sys` auth-method calls and `client.auth.approle` methods.

Each test enables its own AppRole mount (a path of its own) so the tests do not share roles.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from tests.support.server import HOST, ServerProcess

INVALID = "invalid role or secret ID"


@pytest.fixture
def mount(root_client: hvac.Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh AppRole mount named after the test."""
    path = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    root_client.sys.enable_auth_method("approle", path=path)
    try:
        yield path
    finally:
        root_client.sys.disable_auth_method(path)


def login(client: hvac.Client, mount: str, role_id: str, secret_id: str | None) -> Any:
    return client.auth.approle.login(role_id, secret_id, use_token=False, mount_point=mount)


def role_and_secret(root: hvac.Client, mount: str, **role: Any) -> tuple[str, str]:
    root.auth.approle.create_or_update_approle("r", mount_point=mount, **role)
    role_id = root.auth.approle.read_role_id("r", mount_point=mount)["data"]["role_id"]
    secret = root.auth.approle.generate_secret_id("r", mount_point=mount)["data"]["secret_id"]
    return role_id, secret


def request_from(
    server: ServerProcess, source: str, method: str, path: str, token: str, *, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """A request from another loopback address (the whole of 127/8 is this machine's)."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10, source_address=(source, 0))
    try:
        payload = None if body is None else json.dumps(body)
        headers = {"X-Vault-Token": token, "Content-Type": "application/json"}
        conn.request(method, f"/v1/{path}", body=payload, headers=headers)
        answer = conn.getresponse()
        text = answer.read().decode()
        return answer.status, json.loads(text) if text else {}
    finally:
        conn.close()


def test_sys_auth_enable_list_tune_and_disable(root_client: hvac.Client) -> None:
    sys = root_client.sys
    sys.enable_auth_method("approle", description="machines")
    try:
        listed = sys.list_auth_methods()
        assert set(listed["data"]) >= {"approle/", "token/"}
        approle = listed["data"]["approle/"]
        assert approle["type"] == "approle"
        assert approle["description"] == "machines"
        assert re.fullmatch(r"auth_approle_[0-9a-f]{8}", approle["accessor"])
        assert listed["data"]["token/"]["type"] == "token"
        assert listed["approle/"] == approle  # Vault copies it to the top level

        sys.tune_auth_method("approle", default_lease_ttl="1h", max_lease_ttl="2h")
        tuned = sys.read_auth_method_tuning("approle")["data"]
        assert (tuned["default_lease_ttl"], tuned["max_lease_ttl"]) == (3600, 7200)

        with pytest.raises(InvalidRequest, match="batch tokens are not supported"):
            root_client.write("sys/auth/approle/tune", token_type="default-batch")
        with pytest.raises(InvalidRequest, match="already in use"):
            sys.enable_auth_method("approle")
    finally:
        sys.disable_auth_method("approle")
    assert "approle/" not in sys.list_auth_methods()["data"]
    with pytest.raises(InvalidRequest, match="unknown auth method type 'nosuch'"):
        sys.enable_auth_method("nosuch")
    with pytest.raises(InvalidRequest, match="cannot be disabled"):
        sys.disable_auth_method("token")


def test_tuning_auth_token_caps_new_tokens(root_client: hvac.Client) -> None:
    sys = root_client.sys
    sys.tune_auth_method("token", default_lease_ttl="20m", max_lease_ttl="1h")
    try:
        assert sys.read_auth_method_tuning("token")["data"]["max_lease_ttl"] == 3600
        created = root_client.auth.token.create(policies=["default"])["auth"]
        assert created["lease_duration"] == 1200
        capped = root_client.auth.token.create(policies=["default"], ttl="5h")["auth"]
        assert capped["lease_duration"] == 3600
    finally:
        sys.tune_auth_method("token", default_lease_ttl="system", max_lease_ttl="system")


def test_approle_end_to_end_with_hvac(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    approle = root_client.auth.approle
    approle.create_or_update_approle(
        "ci",
        token_policies=["reader"],
        token_ttl="10m",
        token_max_ttl="30m",
        secret_id_ttl="1h",
        mount_point=mount,
    )
    role = approle.read_role("ci", mount_point=mount)["data"]
    assert role["token_policies"] == ["reader"]
    assert (role["token_ttl"], role["token_max_ttl"], role["secret_id_ttl"]) == (600, 1800, 3600)
    assert role["bind_secret_id"] is True
    assert role["token_type"] == "default"
    assert approle.list_roles(mount_point=mount)["data"]["keys"] == ["ci"]

    approle.update_role_id("ci", "my-role-id", mount_point=mount)
    assert approle.read_role_id("ci", mount_point=mount)["data"]["role_id"] == "my-role-id"

    generated = approle.generate_secret_id("ci", metadata={"team": "a"}, mount_point=mount)["data"]
    secret_id, accessor = generated["secret_id"], generated["secret_id_accessor"]
    assert generated["secret_id_ttl"] == 3600
    listed = approle.list_secret_id_accessors("ci", mount_point=mount)["data"]["keys"]
    assert listed == [accessor]
    looked = approle.read_secret_id("ci", secret_id, mount_point=mount)["data"]
    assert looked["secret_id_accessor"] == accessor
    assert looked["metadata"] == {"team": "a"}
    by_accessor = approle.read_secret_id_accessor("ci", accessor, mount_point=mount)["data"]
    assert by_accessor["metadata"] == {"team": "a"}

    auth = login(dev_server.client(), mount, "my-role-id", secret_id)["auth"]
    assert auth["policies"] == ["default", "reader"]
    assert auth["metadata"] == {"role_name": "ci", "team": "a"}
    assert auth["lease_duration"] == 600
    assert auth["renewable"] is True
    assert auth["orphan"] is True
    token = auth["client_token"]
    me = dev_server.client(token).auth.token.lookup_self()["data"]
    assert me["path"] == f"auth/{mount}/login"
    assert me["display_name"] == mount
    assert me["meta"] == {"role_name": "ci", "team": "a"}
    renewed = dev_server.client(token).auth.token.renew_self(increment="1h")["auth"]
    assert 1790 <= renewed["lease_duration"] <= 1800  # the role's token_max_ttl caps renewals

    approle.destroy_secret_id("ci", secret_id, mount_point=mount)
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, "my-role-id", secret_id)
    second = approle.generate_secret_id("ci", mount_point=mount)["data"]
    approle.destroy_secret_id_accessor("ci", second["secret_id_accessor"], mount_point=mount)
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, "my-role-id", second["secret_id"])
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, "not-a-role-id", second["secret_id"])

    spec = root_client.adapter.get("/v1/sys/internal/specs/openapi")
    assert f"/auth/{mount}/login" in spec["paths"]
    tidy = root_client.adapter.post(f"/v1/auth/{mount}/tidy/secret-id")
    assert tidy.status_code == 202
    approle.delete_role("ci", mount_point=mount)
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, "my-role-id", secret_id)


def test_secret_id_uses_custom_ids_and_cidrs(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    approle = root_client.auth.approle
    role_id, _ = role_and_secret(root_client, mount, secret_id_num_uses=2)
    # hvac's generate_secret_id has no num_uses: the same POST, written directly.
    once = root_client.write(f"auth/{mount}/role/r/secret-id", num_uses=1)["data"]["secret_id"]
    login(dev_server.client(), mount, role_id, once)
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, role_id, once)
    with pytest.raises(InvalidRequest, match="higher than the role's secret_id_num_uses"):
        root_client.write(f"auth/{mount}/role/r/secret-id", num_uses=5)

    approle.create_custom_secret_id("r", "my-own-secret", mount_point=mount)
    assert login(dev_server.client(), mount, role_id, "my-own-secret")["auth"]["client_token"]

    elsewhere = approle.generate_secret_id("r", cidr_list=["10.0.0.0/8"], mount_point=mount)
    with pytest.raises(InvalidRequest, match=INVALID):
        login(dev_server.client(), mount, role_id, elsewhere["data"]["secret_id"])


def test_token_bound_cidrs_refuse_another_address(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    role_id, secret = role_and_secret(
        root_client, mount, token_bound_cidrs=["127.0.0.1/32"], token_policies=["default"]
    )
    token = login(dev_server.client(), mount, role_id, secret)["auth"]["client_token"]
    status, body = request_from(dev_server, "127.0.0.1", "GET", "auth/token/lookup-self", token)
    assert status == 200
    assert body["data"]["bound_cidrs"] == ["127.0.0.1/32"]
    status, body = request_from(dev_server, "127.0.0.2", "GET", "auth/token/lookup-self", token)
    assert (status, body["errors"]) == (403, ["permission denied"])


def test_batch_tokens_and_bad_fields_are_refused(root_client: hvac.Client, mount: str) -> None:
    with pytest.raises(InvalidRequest, match="batch tokens are not supported"):
        root_client.auth.approle.create_or_update_approle(
            "b", token_type="batch", mount_point=mount
        )
    with pytest.raises(InvalidRequest, match="invalid CIDR block in token_bound_cidrs"):
        root_client.write(f"auth/{mount}/role/b", token_bound_cidrs="not-a-cidr")
    with pytest.raises(InvalidRequest, match="at least one constraint"):
        root_client.write(f"auth/{mount}/role/b", bind_secret_id=False)


def test_auth_mount_max_caps_login_ttl(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    root_client.sys.tune_auth_method(mount, max_lease_ttl="2h")
    role_id, secret = role_and_secret(root_client, mount, token_ttl="10h")
    auth = login(dev_server.client(), mount, role_id, secret)
    assert auth["auth"]["lease_duration"] == 7200
    assert any("capped" in w for w in auth["warnings"])


def test_disabling_the_mount_revokes_its_tokens(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    root_client.sys.enable_auth_method("approle", path="gone")
    role_id, secret = role_and_secret(root_client, "gone")
    token = login(dev_server.client(), "gone", role_id, secret)["auth"]["client_token"]
    assert dev_server.client(token).auth.token.lookup_self()["data"]["path"] == "auth/gone/login"
    root_client.sys.disable_auth_method("gone")
    with pytest.raises(Forbidden):
        dev_server.client(token).auth.token.lookup_self()


def test_login_is_audited_with_the_token_hashed(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit.log"
    root_client.sys.enable_audit_device("file", path="approle-audit", options={
        "file_path": str(audit_log)
    })  # fmt: skip
    try:
        role_id, secret = role_and_secret(root_client, mount)
        token = login(dev_server.client(), mount, role_id, secret)["auth"]["client_token"]
        with pytest.raises(InvalidRequest):
            login(dev_server.client(), mount, role_id, "wrong")
    finally:
        root_client.sys.disable_audit_device("approle-audit")
    text = audit_log.read_text()
    assert token not in text
    assert secret not in text
    entries = [json.loads(line) for line in text.splitlines() if line]
    logins = [e for e in entries if e["request"]["path"] == f"auth/{mount}/login"]
    answered = [e for e in logins if e["type"] == "response" and "auth" in e.get("response", {})]
    assert len(answered) == 1
    assert answered[0]["response"]["auth"]["client_token"].startswith("hmac-sha256:")
    failed = [e for e in logins if e["type"] == "response" and e.get("error")]
    assert failed
    assert INVALID in failed[0]["error"]


def test_renewal_asks_the_role(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    role_id, secret = role_and_secret(root_client, mount, token_policies=["a"])
    token = login(dev_server.client(), mount, role_id, secret)["auth"]["client_token"]
    assert dev_server.client(token).auth.token.renew_self()["auth"]["client_token"] == token

    root_client.auth.approle.create_or_update_approle("r", token_policies=["b"], mount_point=mount)
    with pytest.raises(InvalidRequest, match="policies have changed, not renewing"):
        dev_server.client(token).auth.token.renew_self()
    root_client.auth.approle.create_or_update_approle("r", token_policies=["a"], mount_point=mount)
    assert dev_server.client(token).auth.token.renew_self()["auth"]["client_token"] == token

    root_client.auth.approle.delete_role("r", mount_point=mount)
    with pytest.raises(InvalidRequest, match="role no longer exists"):
        root_client.auth.token.renew(token)


def test_renewal_takes_the_roles_ttls_as_they_are_now(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    """As Vault's AppRole renews: the role's period and max TTL now, not those at login, capped
    by the mount's max as tuned now."""
    role_id, secret = role_and_secret(root_client, mount, token_policies=["a"], token_period="1h")
    token = login(dev_server.client(), mount, role_id, secret)["auth"]["client_token"]
    workload = dev_server.client(token)
    assert workload.auth.token.renew_self(increment="3h")["auth"]["lease_duration"] == 3600

    root_client.auth.approle.create_or_update_approle(
        "r", token_period=0, token_max_ttl="30m", mount_point=mount
    )
    renewed = workload.auth.token.renew_self(increment="3h")["auth"]
    assert 1790 <= renewed["lease_duration"] <= 1800  # no longer periodic: the role's new max
    assert "period" not in workload.auth.token.lookup_self()["data"]

    root_client.sys.tune_auth_method(mount, max_lease_ttl="10m")
    assert 590 <= workload.auth.token.renew_self()["auth"]["lease_duration"] <= 600


def test_renewal_keeps_the_tokens_explicit_max_ttl(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    role_id, secret = role_and_secret(
        root_client, mount, token_period="1h", token_explicit_max_ttl="20m"
    )
    token = login(dev_server.client(), mount, role_id, secret)["auth"]["client_token"]
    root_client.auth.approle.create_or_update_approle(
        "r", token_explicit_max_ttl=0, mount_point=mount
    )
    renewed = dev_server.client(token).auth.token.renew_self()["auth"]
    assert 1190 <= renewed["lease_duration"] <= 1200  # the token's own cap, set at login
