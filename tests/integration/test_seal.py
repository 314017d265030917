"""init, unseal, seal, seal-status, health and leader on config-file servers (reference §7).

Two servers are shared by the module and never change state: `uninitialised` (never
initialised) and `sealed` (initialised 3 of 5, never unsealed). Tests that move a server
through its lifecycle get a fresh one.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.support.server import InitResult, ServerFactory, ServerProcess

SEALED = {"errors": ["Vault is sealed"]}


@pytest.fixture(scope="module")
def uninitialised(module_servers: ServerFactory) -> ServerProcess:
    return module_servers.sqlite()


@pytest.fixture(scope="module")
def sealed(module_servers: ServerFactory) -> tuple[ServerProcess, InitResult]:
    server = module_servers.sqlite()
    return server, server.initialize(5, 3)


@pytest.fixture
def fresh(servers: ServerFactory) -> ServerProcess:
    return servers.sqlite()


def _health(server: ServerProcess, **params: str) -> tuple[int, dict[str, object]]:
    resp = server.request("GET", "sys/health", params=params)
    assert resp.headers["Content-Type"] == "application/json"
    return resp.status_code, resp.json()


# ---- an uninitialised server -------------------------------------------------------------


def test_uninitialised_server_reports_itself(uninitialised: ServerProcess) -> None:
    client = uninitialised.client()
    assert client.sys.read_init_status() == {"initialized": False}
    assert client.sys.is_initialized() is False
    status = client.sys.read_seal_status()
    assert (status["initialized"], status["sealed"]) == (False, True)
    assert (status["type"], status["storage_type"]) == ("shamir", "sqlite")
    code, body = _health(uninitialised)
    assert code == 501
    assert (body["initialized"], body["sealed"], body["standby"]) == (False, True, False)
    assert _health(uninitialised, uninitcode="299")[0] == 299
    assert _health(uninitialised, sealedcode="299")[0] == 501
    assert client.sys.read_health_status(method="GET").status_code == 501
    head = uninitialised.request("HEAD", "sys/health")
    assert (head.status_code, head.content) == (501, b"")


INVALID_INIT = [
    ({"secret_shares": 3, "secret_threshold": 5}, "threshold cannot be larger than shares"),
    ({"secret_shares": 0, "secret_threshold": 0}, "shares must be at least one"),
    ({"secret_shares": 2, "secret_threshold": 0}, "threshold must be at least one"),
    ({"secret_shares": 5, "secret_threshold": 1}, "threshold must be greater than one"),
    ({"secret_shares": 300, "secret_threshold": 3}, "shares must be less than 256"),
    ({"secret_shares": 5}, "secret_shares and secret_threshold are required"),
    ({}, "secret_shares and secret_threshold are required"),
    ({"secret_shares": "five", "secret_threshold": 3}, "secret_shares"),
    ({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["abc"]}, "PGP"),
    ({"secret_shares": 1, "secret_threshold": 1, "root_token_pgp_key": "abc"}, "PGP"),
]


def test_init_validation_refuses_and_writes_nothing(uninitialised: ServerProcess) -> None:
    for body, message in INVALID_INIT:
        resp = uninitialised.request("PUT", "sys/init", json=body)
        assert resp.status_code == 400, body
        assert resp.headers["Content-Type"] == "application/json"
        errors = resp.json()["errors"]
        assert len(errors) == 1, body
        assert message in errors[0], (body, errors)
        assert uninitialised.request("GET", "sys/init").json() == {"initialized": False}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="threshold cannot be larger"):
        uninitialised.client().sys.initialize(secret_shares=2, secret_threshold=3)
    assert uninitialised.client().sys.read_seal_status()["n"] == 0


def test_uninitialised_server_is_sealed_for_logical_paths(uninitialised: ServerProcess) -> None:
    resp = uninitialised.request("GET", "sys/mounts", token="anything")
    assert (resp.status_code, resp.json()) == (503, SEALED)
    with pytest.raises(hvac.exceptions.VaultDown):
        uninitialised.client("anything").sys.list_mounted_secrets_engines()
    unseal = uninitialised.request("PUT", "sys/unseal", json={"key": "00" * 33})
    assert (unseal.status_code, unseal.json()) == (400, {"errors": ["Vault is not initialized"]})


# ---- an initialised, sealed server --------------------------------------------------------


def test_second_init_is_refused(sealed: tuple[ServerProcess, InitResult]) -> None:
    server, _ = sealed
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already initialized"):
        server.client().sys.initialize(secret_shares=1, secret_threshold=1)
    status = server.client().sys.read_seal_status()
    assert (status["t"], status["n"], status["sealed"]) == (3, 5, True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "sys/mounts"),
        ("POST", "sys/mounts/aws2"),
        ("LIST", "sys/policies/acl"),
        ("PUT", "sys/policies/acl/p"),
        ("GET", "auth/token/lookup-self"),
        ("POST", "auth/token/create"),
        ("GET", "aws/config/root"),
        ("PUT", "sys/seal"),
        ("GET", "no/such/mount"),
        ("DELETE", "sys/mounts/aws"),
    ],
)
def test_sealed_server_answers_503_everywhere_else(
    sealed: tuple[ServerProcess, InitResult], method: str, path: str
) -> None:
    server, init = sealed
    resp = server.request(method, path, token=init.root_token, json={"type": "aws"})
    assert resp.status_code == 503
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == SEALED


def test_sealed_server_raises_vault_down_in_hvac(sealed: tuple[ServerProcess, InitResult]) -> None:
    server, init = sealed
    with pytest.raises(hvac.exceptions.VaultDown, match="Vault is sealed"):
        server.client(init.root_token).sys.list_mounted_secrets_engines()
    assert server.client(init.root_token).sys.is_sealed() is True


def test_unauthenticated_endpoints_work_while_sealed(
    sealed: tuple[ServerProcess, InitResult],
) -> None:
    server, _ = sealed
    client = server.client()
    assert client.sys.read_seal_status()["sealed"] is True
    assert client.sys.read_init_status()["initialized"] is True
    leader = client.sys.read_leader_status()
    assert (leader["ha_enabled"], leader["is_self"]) == (True, False)  # SQLite can be shared
    code, body = _health(server)
    assert code == 503
    assert (body["initialized"], body["sealed"]) == (True, True)
    assert "cluster_id" not in body
    assert _health(server, sealedcode="299")[0] == 299
    assert _health(server, activecode="299", uninitcode="298")[0] == 503
    head = server.request("HEAD", "sys/health")
    assert (head.status_code, head.content) == (503, b"")


BAD_UNSEAL = [
    ({}, "'key' must be specified in request body as JSON, or 'reset' set to true"),
    ({"key": "not hex and not base64!"}, "'key' must be a valid hex or base64 string"),
    ({"key": "abcd"}, "invalid key"),
    ({"key": 12}, "key"),
]


def test_bad_unseal_requests_are_400(sealed: tuple[ServerProcess, InitResult]) -> None:
    server, _ = sealed
    for body, message in BAD_UNSEAL:
        resp = server.request("PUT", "sys/unseal", json=body)
        assert resp.status_code == 400, body
        assert message in resp.json()["errors"][0], (body, resp.json())
        status = server.request("GET", "sys/seal-status").json()
        assert (status["sealed"], status["progress"]) == (True, 0)


def test_seal_endpoints_refuse_other_methods(sealed: tuple[ServerProcess, InitResult]) -> None:
    server, _ = sealed
    for method, path in [
        ("GET", "sys/unseal"),
        ("DELETE", "sys/init"),
        ("DELETE", "sys/seal-status"),
        ("PUT", "sys/seal-status"),
        ("POST", "sys/health"),
        ("DELETE", "sys/leader"),
    ]:
        resp = server.request(method, path)
        assert resp.status_code == 405, (method, path)
        assert resp.headers["Content-Type"] == "application/json"
        assert "errors" in resp.json()


# ---- servers that go through their lifecycle ------------------------------------------------


def test_init_returns_keys_then_unseal_progress_three_of_five(fresh: ServerProcess) -> None:
    client = fresh.client()
    # hvac sends root_token_pgp_key: null, which must mean "not supplied".
    init = client.sys.initialize(secret_shares=5, secret_threshold=3)
    assert set(init) >= {"keys", "keys_base64", "root_token"}
    keys, keys_b64 = init["keys"], init["keys_base64"]
    assert len(keys) == len(set(keys)) == 5
    assert len(keys_b64) == 5
    assert [bytes.fromhex(k) for k in keys] == [base64.b64decode(k) for k in keys_b64]
    assert init["root_token"].startswith("hvs.")
    assert client.sys.is_sealed() is True
    status = client.sys.read_seal_status()
    assert (status["t"], status["n"], status["progress"], status["nonce"]) == (3, 5, 0, "")

    first = client.sys.submit_unseal_key(keys[0])
    assert (first["sealed"], first["progress"], first["t"]) == (True, 1, 3)
    assert first["nonce"]
    repeated = client.sys.submit_unseal_key(keys[0])
    assert (repeated["progress"], repeated["nonce"]) == (1, first["nonce"])
    # The same share in base64 is still the same share.
    assert client.sys.submit_unseal_key(keys_b64[0])["progress"] == 1
    assert client.sys.submit_unseal_key(keys_b64[1])["progress"] == 2
    assert client.sys.read_seal_status()["progress"] == 2
    reset = client.sys.submit_unseal_key(reset=True)
    assert (reset["sealed"], reset["progress"], reset["nonce"]) == (True, 0, "")
    assert client.sys.submit_unseal_key(keys[2])["progress"] == 1
    assert client.sys.submit_unseal_key(keys[3])["progress"] == 2
    done = client.sys.submit_unseal_key(keys[4])
    assert (done["sealed"], done["progress"]) == (False, 0)
    assert done["cluster_id"]
    # Extra keys after unsealing are harmless; a reset now is refused.
    assert client.sys.submit_unseal_key(keys[0])["sealed"] is False
    with pytest.raises(hvac.exceptions.InvalidRequest, match="vault is unsealed"):
        client.sys.submit_unseal_key(reset=True)
    assert fresh.client(init["root_token"]).is_authenticated() is True
    leader = client.sys.read_leader_status()
    assert (leader["ha_enabled"], leader["is_self"]) == (True, True)
    assert leader["leader_address"] == fresh.url  # from the listener: no api_addr is set


def test_share_from_another_server_is_refused(
    fresh: ServerProcess, sealed: tuple[ServerProcess, InitResult]
) -> None:
    _, foreign = sealed
    init = fresh.initialize(5, 3)
    client = fresh.client()
    client.sys.submit_unseal_key(init.keys[0])
    client.sys.submit_unseal_key(init.keys[1])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid unseal key"):
        client.sys.submit_unseal_key(foreign.keys[2])
    status = client.sys.read_seal_status()
    assert (status["sealed"], status["progress"]) == (True, 0)
    # Three foreign shares are no better.
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid unseal key"):
        client.sys.submit_unseal_keys(foreign.keys[:3])
    assert client.sys.is_sealed() is True
    assert _health(fresh)[0] == 503
    # The right shares still work after the failures.
    assert client.sys.submit_unseal_keys(init.keys[2:])["sealed"] is False


def test_health_once_active(fresh: ServerProcess) -> None:
    fresh.init_and_unseal()
    code, body = _health(fresh)
    assert code == 200
    assert (body["initialized"], body["sealed"], body["standby"]) == (True, False, False)
    assert body["replication_dr_mode"] == body["replication_performance_mode"] == "disabled"
    assert isinstance(body["server_time_utc"], int)
    assert body["cluster_id"]
    assert _health(fresh, activecode="299")[0] == 299
    assert _health(fresh, sealedcode="299", uninitcode="298")[0] == 200
    for param in ("activecode", "sealedcode", "uninitcode", "standbycode"):
        resp = fresh.request("GET", "sys/health", params={param: "abc"})
        assert resp.status_code == 400, param
        assert param in resp.json()["errors"][0]
    client = fresh.client()
    active = client.sys.read_health_status(method="GET")
    assert (active["initialized"], active["sealed"]) == (True, False)
    # hvac sends Python bools as "True"/"False" and the codes as query parameters.
    custom = client.sys.read_health_status(
        method="GET", standby_ok=True, active_code=299, sealed_code=298, uninit_code=297
    )
    assert custom.status_code == 299
    assert custom.json()["sealed"] is False
    head = client.sys.read_health_status(method="HEAD")
    assert (head.status_code, head.content, bool(head)) == (200, b"", True)
    assert head.headers.get("Content-Length", "0") == "0"


def test_seal_needs_root_or_sudo_and_state_survives(fresh: ServerProcess) -> None:
    init = fresh.initialize(5, 3)
    fresh.unseal(init.keys[:3])
    root = fresh.client(init.root_token)
    root.sys.create_or_update_acl_policy("sealer", 'path "sys/seal" { capabilities = ["update"] }')
    root.sys.create_or_update_acl_policy(
        "sudo-sealer", 'path "sys/seal" { capabilities = ["update", "sudo"] }'
    )
    plain = root.auth.token.create(policies=["sealer"])["auth"]["client_token"]
    sudo = root.auth.token.create(policies=["sudo-sealer"])["auth"]["client_token"]
    root.sys.enable_secrets_engine("aws", path="kept")

    with pytest.raises(hvac.exceptions.Forbidden):
        fresh.client(plain).sys.seal()
    assert root.sys.is_sealed() is False

    resp = fresh.client(sudo).sys.seal()
    assert resp.status_code == 204
    assert root.sys.is_sealed() is True
    assert _health(fresh)[0] == 503
    with pytest.raises(hvac.exceptions.VaultDown, match="Vault is sealed"):
        root.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.VaultDown):
        fresh.client(plain).lookup_token()

    fresh.unseal(init.keys[1:4])
    assert "kept/" in root.sys.list_mounted_secrets_engines()["data"]
    assert fresh.client(plain).lookup_token()["data"]["policies"] == ["default", "sealer"]
    assert "sealer" in root.sys.list_acl_policies()["data"]["keys"]
    # Root can seal too, and once sealed `sys/seal` itself is behind the seal.
    assert root.sys.seal().status_code == 204
    assert fresh.request("PUT", "sys/seal", token=init.root_token).status_code == 503


# ---- the audit log ---------------------------------------------------------------------------


def _audited(audit_log: Path, *paths: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in audit_log.read_text().splitlines() if line]
    return [entry for entry in entries if entry["request"]["path"] in paths]


def test_seal_and_step_down_are_audited_by_their_request_entry(
    fresh: ServerProcess, tmp_path: Path
) -> None:
    """As in Vault: the request entry is written before the server seals (sealing closes the
    devices), and there is no response entry."""
    init = fresh.init_and_unseal()
    root = fresh.client(init.root_token)
    audit_log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", options={"file_path": str(audit_log)})
    hashed_token = root.sys.calculate_hash("file", init.root_token)["data"]["hash"]

    assert fresh.request("PUT", "sys/step-down", token=init.root_token).status_code == 204
    assert root.sys.seal().status_code == 204
    assert root.sys.is_sealed() is True
    entries = _audited(audit_log, "sys/step-down", "sys/seal")
    assert [(e["type"], e["request"]["path"]) for e in entries] == [
        ("request", "sys/step-down"),
        ("request", "sys/seal"),
    ]
    for entry in entries:
        assert entry["request"]["operation"] == "update"
        assert entry["request"]["client_token"] == entry["auth"]["client_token"] == hashed_token
        assert entry["auth"]["policies"] == ["root"]
        assert "error" not in entry or not entry["error"]
    assert init.root_token not in audit_log.read_text()

    fresh.unseal(init.keys)  # the device is back, and records what follows
    root.sys.list_mounted_secrets_engines()
    assert _audited(audit_log, "sys/mounts")
    assert [e["type"] for e in _audited(audit_log, "sys/seal")] == ["request"]


def test_a_seal_no_device_can_record_is_refused(fresh: ServerProcess, tmp_path: Path) -> None:
    """Fail closed, as every audited request (Vault: `failed to audit request, cannot
    continue`): the server stays unsealed until a device records the request."""
    init = fresh.init_and_unseal()
    root = fresh.client(init.root_token)
    directory = tmp_path / "audit"
    directory.mkdir()
    root.sys.enable_audit_device("file", options={"file_path": str(directory / "audit.log")})
    shutil.rmtree(directory)  # the open file is deleted: no entry may go there

    resp = fresh.request("PUT", "sys/seal", token=init.root_token)
    assert (resp.status_code, resp.json()) == (500, {"errors": ["internal error"]})
    assert root.sys.is_sealed() is False

    directory.mkdir()
    assert root.sys.seal().status_code == 204
    assert root.sys.is_sealed() is True
    assert [e["type"] for e in _audited(directory / "audit.log", "sys/seal")] == ["request"]
