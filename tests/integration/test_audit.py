"""Audit devices end to end: a real `awsbroker server --dev` (debug logs, JSON format) issuing
AWS credentials from moto behind the recording proxy, driven by hvac.

Every request leaves two entries whose secrets, tokens and accessors are HMACs that
`sys/audit-hash` reproduces; neither the audit file nor the server's own log holds a secret;
a device that cannot write stops credential issuance before anything is created in AWS; SIGHUP
lets a rotated audit file go.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.integration.aws.support import ALLOW_ALL, MOUNT, AWSWorld, configure, fresh_mount
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer, bootstrap_admin
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running

ROLE = "ci"
CREDS_POLICY = 'path "aws/creds/*" {\n  capabilities = ["read"]\n}\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A dev server logging at debug level in JSON: the most a log could ever say."""
    port = free_port()
    args = ["--dev", "--dev-listen-address", f"{HOST}:{port}", "--dev-root-token-id", ROOT_TOKEN]
    args += ["--log-level", "debug", "--log-format", "json"]
    with running(ServerProcess(tmp_path_factory.mktemp("audit"), args, port)) as process:
        yield process


@pytest.fixture(scope="module")
def root(server: ServerProcess) -> hvac.Client:
    return server.client(ROOT_TOKEN)


@pytest.fixture
def aws(moto: MotoServer, proxy: AWSProxy, root: hvac.Client) -> Iterator[AWSWorld]:
    """A fresh `aws/` mount configured against a fresh moto (auth on), a role `ci`, and no
    audit device left over when the test ends."""
    fresh_mount(root, MOUNT)
    moto.disable_auth()
    moto.reset()
    access_key, secret_key = bootstrap_admin(moto.endpoint)
    moto.enable_auth()
    proxy.clear_faults()
    world = AWSWorld(moto, proxy, access_key, secret_key)
    configure(root, world)
    root.write(
        f"{MOUNT}/roles/{ROLE}", credential_type="iam_user", policy_document=json.dumps(ALLOW_ALL)
    )
    proxy.clear()
    try:
        yield world
    finally:
        world.close()
        for path in root.sys.list_enabled_audit_devices()["data"]:
            root.sys.disable_audit_device(path.rstrip("/"))


def creds_token(server: ServerProcess, root: hvac.Client) -> tuple[str, str]:
    """A token that may read `aws/creds/*`: (token, accessor)."""
    root.sys.create_or_update_acl_policy("creds", CREDS_POLICY)
    auth = root.auth.token.create(policies=["creds"], ttl="1h")["auth"]
    return auth["client_token"], auth["accessor"]


def entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def of_request(log: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [e for e in log if e.get("request", {}).get("id") == request_id]


def test_credentials_are_audited_twice_and_only_as_hmacs(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", options={"file_path": str(audit_log)})
    token, accessor = creds_token(server, root)
    issued = server.client(token).secrets.aws.generate_credentials(ROLE)
    access_key, secret_key = issued["data"]["access_key"], issued["data"]["secret_key"]
    root.sys.revoke_lease(issued["lease_id"])

    def hashed(value: str) -> str:
        result: str = root.sys.calculate_hash("file", value)["data"]["hash"]
        return result

    request, response = of_request(entries(audit_log), issued["request_id"])
    assert (request["type"], response["type"]) == ("request", "response")
    for entry in (request, response):
        assert entry["request"]["path"] == f"{MOUNT}/creds/{ROLE}"
        assert entry["request"]["client_token"] == hashed(token)
        assert entry["request"]["client_token_accessor"] == hashed(accessor)
        assert entry["auth"]["client_token"] == hashed(token)
        assert entry["auth"]["accessor"] == hashed(accessor)
        assert entry["auth"]["policies"] == ["creds", "default"]
    assert response["response"]["secret"]["lease_id"] == issued["lease_id"]
    assert response["response"]["data"]["access_key"] == hashed(access_key)
    assert response["response"]["data"]["secret_key"] == hashed(secret_key)
    assert response["response"]["data"]["security_token"] is None

    revocations = [e for e in entries(audit_log) if e["request"]["path"] == "sys/leases/revoke"]
    assert [e["type"] for e in revocations] == ["request", "response"]

    audit_text = audit_log.read_text()
    server_log = server.log()
    for secret in (secret_key, token, accessor, access_key):
        assert secret not in audit_text
    for secret in (secret_key, token):
        assert secret not in server_log, "the server's log holds a secret"
    # The log is structured, and request-scoped lines carry the request's ID.
    lines = [json.loads(line) for line in server_log.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == issued["request_id"] for line in lines)


def test_hvac_audit_methods_work_unchanged(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld, tmp_path: Path
) -> None:
    root.sys.enable_audit_device(
        "file", description="legacy option", options={"path": str(tmp_path / "a.log")}, path="one"
    )
    root.sys.enable_audit_device("file", options={"file_path": "discard"}, path="two")
    listed = root.sys.list_enabled_audit_devices()
    assert set(listed["data"]) == {"one/", "two/"}
    assert listed["one/"]["type"] == "file", "top-level injected, as Vault"
    assert listed["data"]["one/"]["description"] == "legacy option"
    one = root.sys.calculate_hash("one", "value")["data"]["hash"]
    assert one.startswith("hmac-sha256:")
    assert root.sys.calculate_hash("one", "value")["data"]["hash"] == one
    assert root.sys.calculate_hash("two", "value")["data"]["hash"] != one

    assert root.sys.disable_audit_device("two").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidRequest, match="unknown audit backend two"):
        root.sys.calculate_hash("two", "value")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="file_path is required"):
        root.sys.enable_audit_device("file", path="nopath")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="audit backend failed test message"):
        root.sys.enable_audit_device("file", options={"file_path": "/dev/full"}, path="full")
    token, _ = creds_token(server, root)
    with pytest.raises(hvac.exceptions.Forbidden):
        server.client(token).sys.list_enabled_audit_devices()
    assert set(root.sys.list_enabled_audit_devices()["data"]) == {"one/"}


def test_step_down_is_recorded_without_ha_storage_too(
    server: ServerProcess, root: hvac.Client, tmp_path: Path
) -> None:
    """Vault answers `sys/step-down` without recording it when its storage has no HA; every
    awsbroker node serves every request, so it is recorded (by its request entry) everywhere."""
    audit_log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", options={"file_path": str(audit_log)}, path="step")
    try:
        assert root.sys.read_leader_status()["ha_enabled"] is False  # in memory
        assert server.request("PUT", "sys/step-down", token=ROOT_TOKEN).status_code == 204
        recorded = [e for e in entries(audit_log) if e["request"]["path"] == "sys/step-down"]
        assert [e["type"] for e in recorded] == ["request"]
    finally:
        root.sys.disable_audit_device("step")


def test_a_device_that_cannot_write_stops_issuance_before_aws(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld, tmp_path: Path
) -> None:
    directory = tmp_path / "audit"
    directory.mkdir()
    root.sys.enable_audit_device("file", options={"file_path": str(directory / "audit.log")})
    shutil.rmtree(directory)  # the open file is deleted: no entry may go there

    response = server.request("GET", f"{MOUNT}/creds/{ROLE}", token=ROOT_TOKEN)
    assert response.status_code == 500
    assert response.json() == {"errors": ["internal error"]}
    with pytest.raises(hvac.exceptions.InternalServerError):
        root.secrets.aws.generate_credentials(ROLE)
    assert aws.calls("CreateUser") == []
    assert aws.mutating_calls() == []
    assert aws.users() == []
    assert server.request("GET", "sys/health").status_code == 200, "unaudited"

    directory.mkdir()  # writable again: requests flow, and are recorded
    issued = root.secrets.aws.generate_credentials(ROLE)
    assert len(of_request(entries(directory / "audit.log"), issued["request_id"])) == 2
    root.sys.revoke_lease(issued["lease_id"])


def test_a_full_target_stops_issuance_before_aws(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit.log"
    root.sys.enable_audit_device("file", options={"file_path": str(audit_log)})
    audit_log.unlink()
    audit_log.symlink_to("/dev/full")  # the disk is full from now on
    reopen(server)
    with pytest.raises(hvac.exceptions.InternalServerError):
        root.secrets.aws.generate_credentials(ROLE)
    assert aws.mutating_calls() == []
    audit_log.unlink()
    reopen(server)
    root.secrets.aws.configure_lease("1h", "2h")  # recorded again
    assert "aws/config/lease" in audit_log.read_text()


def reopen(server: ServerProcess) -> None:
    """SIGHUP, then wait until the server has handled it (its log says so)."""
    assert server.proc is not None
    before = server.log().count("audit devices will reopen")
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while server.log().count("audit devices will reopen") == before:
        assert time.monotonic() < deadline, "SIGHUP was not handled"
        time.sleep(0.05)


def test_sighup_reopens_the_file_for_log_rotation(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit.log"
    rotated = tmp_path / "audit.log.1"
    root.sys.enable_audit_device("file", options={"file_path": str(audit_log), "mode": "0640"})
    assert audit_log.stat().st_mode & 0o777 == 0o640
    before = root.sys.list_enabled_audit_devices()["request_id"]
    audit_log.rename(rotated)
    during = root.sys.list_enabled_audit_devices()["request_id"]
    reopen(server)
    after = root.sys.list_enabled_audit_devices()["request_id"]
    old, new = entries(rotated), entries(audit_log)
    assert len(of_request(old, before)) == 2
    assert len(of_request(old, during)) == 2, "until SIGHUP the renamed file is still written"
    assert len(of_request(new, after)) == 2
    assert of_request(old, after) == []
    assert audit_log.stat().st_mode & 0o777 == 0o640


def test_a_socket_device_streams_entries(
    server: ServerProcess, root: hvac.Client, aws: AWSWorld
) -> None:
    received: list[bytes] = []
    listener = socket.create_server((HOST, 0))
    listener.settimeout(10)

    def collect() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            while chunk := conn.recv(65536):
                received.append(chunk)

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    try:
        address = f"{HOST}:{listener.getsockname()[1]}"
        root.sys.enable_audit_device("socket", options={"address": address}, path="siem")
        issued = root.secrets.aws.generate_credentials(ROLE)
        root.sys.disable_audit_device("siem")  # closes the connection: the collector ends
        thread.join(timeout=10)
    finally:
        listener.close()
    lines = [json.loads(line) for line in b"".join(received).splitlines()]
    assert lines[0]["request"]["path"] == "sys/audit/test"
    assert [e["type"] for e in of_request(lines, issued["request_id"])] == ["request", "response"]
    assert issued["data"]["secret_key"] not in b"".join(received).decode()
    root.sys.revoke_lease(issued["lease_id"])
