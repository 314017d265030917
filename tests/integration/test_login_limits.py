"""Failed logins are throttled per auth mount and client address (core/login_limits.py), end to
end: a real server configured with a short window, logins over HTTP from two loopback
addresses, the audit log, the metrics and the server's log.

`login_rate_limit { failures_per_minute = 20  burst = 3 }`: three failures from an address on a
mount, then 429 until the bucket refills one attempt (3 seconds).
"""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from tests.support.server import HOST, ServerProcess, config_text, free_port, running

LIMIT = "login_rate_limit {\n  failures_per_minute = 20\n  burst = 3\n}\n"
ME, OTHER = "127.0.0.1", "127.0.0.2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("limits")
    port = free_port()
    config = workdir / "config.hcl"
    config.write_text(config_text("sqlite", {"path": str(workdir / "db")}, port) + LIMIT)
    with running(ServerProcess(workdir, ["--config", str(config)], port)) as started:
        yield started


@pytest.fixture(scope="module")
def root(server: ServerProcess) -> str:
    return server.init_and_unseal().root_token


def call(
    server: ServerProcess, source: str, path: str, body: Any, token: str = ""
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A POST from `source`, one of this machine's loopback addresses: status, headers, body."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10, source_address=(source, 0))
    try:
        headers = {
            "Content-Type": "application/json",
            **({"X-Vault-Token": token} if token else {}),
        }
        conn.request("POST", f"/v1/{path}", body=json.dumps(body), headers=headers)
        answer = conn.getresponse()
        text = answer.read().decode()
        return (
            answer.status,
            {k.lower(): v for k, v in answer.getheaders()},
            json.loads(text) if text else {},
        )
    finally:
        conn.close()


def approle(client: hvac.Client, mount: str) -> tuple[str, str]:
    client.sys.enable_auth_method("approle", path=mount)
    client.auth.approle.create_or_update_approle("r", mount_point=mount)
    role_id = client.auth.approle.read_role_id("r", mount_point=mount)["data"]["role_id"]
    secret = client.auth.approle.generate_secret_id("r", mount_point=mount)["data"]["secret_id"]
    return role_id, secret


def metric(server: ServerProcess, root: str, name: str, mount: str) -> float:
    text = server.request("GET", "sys/metrics", root, params={"format": "prometheus"}).text
    found = re.search(rf'^{name}\{{mount="{re.escape(mount)}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_failed_logins_are_throttled_per_mount_and_address(
    server: ServerProcess, root: str, tmp_path: Path
) -> None:
    client = server.client(root)
    audit_log = tmp_path / "audit.log"
    client.sys.enable_audit_device("file", options={"file_path": str(audit_log)})
    role_id, secret = approle(client, "limited")
    other_role, other_secret = approle(client, "elsewhere")
    good = {"role_id": role_id, "secret_id": secret}
    bad = {"role_id": role_id, "secret_id": "not-the-secret"}

    statuses = [call(server, ME, "auth/limited/login", bad)[0] for _ in range(3)]
    assert statuses == [400, 400, 400]
    status, headers, body = call(server, ME, "auth/limited/login", bad)
    assert status == 429
    wait = int(headers["retry-after"])
    assert 1 <= wait <= 3
    assert body == {"errors": [f"too many failed login attempts; retry in {wait}s"]}
    # The right secret too: answering it would tell a guesser it had found one.
    assert call(server, ME, "auth/limited/login", good)[0] == 429

    # Another address on the same mount, and the same address on another mount, go on.
    assert call(server, OTHER, "auth/limited/login", bad)[0] == 400
    assert call(server, OTHER, "auth/limited/login", good)[0] == 200
    other = {"role_id": other_role, "secret_id": "wrong"}
    assert call(server, ME, "auth/elsewhere/login", other)[0] == 400
    assert call(server, ME, "auth/elsewhere/login", {**other, "secret_id": other_secret})[0] == 200

    time.sleep(wait)  # the bucket holds one attempt again
    status, _, body = call(server, ME, "auth/limited/login", good)
    assert status == 200
    assert body["auth"]["client_token"]

    assert metric(server, root, "awsbroker_login_failures_total", "auth/limited/") == 4
    assert metric(server, root, "awsbroker_login_throttled_total", "auth/limited/") == 2
    assert metric(server, root, "awsbroker_login_failures_total", "auth/elsewhere/") == 1

    client.sys.disable_audit_device("file")
    entries = [json.loads(line) for line in audit_log.read_text().splitlines() if line]
    errors = [
        e["error"]
        for e in entries
        if e["request"]["path"] == "auth/limited/login" and e.get("error")
    ]
    assert errors.count("invalid role or secret ID") == 4
    assert sum("too many failed login attempts" in e for e in errors) == 2
    assert secret not in audit_log.read_text()

    # One WARNING for the throttled address, though two attempts were refused; no secret.
    log = server.log()
    warned = [line for line in log.splitlines() if "throttled" in line]
    assert len(warned) == 1
    assert "127.0.0.1 on auth/limited/" in warned[0]
    assert "WARNING" in warned[0]
    assert secret not in log
    assert "not-the-secret" not in log


def test_successful_logins_are_never_throttled(server: ServerProcess, root: str) -> None:
    role_id, secret = approle(server.client(root), "busy")
    good = {"role_id": role_id, "secret_id": secret}
    statuses = {call(server, ME, "auth/busy/login", good)[0] for _ in range(10)}
    assert statuses == {200}


def test_a_wrong_secret_id_lookup_counts_as_a_failure(server: ServerProcess, root: str) -> None:
    """`secret-id/lookup` answers data for a real secret ID and 204 for any other: an oracle,
    throttled as logins are (its caller needs a token allowed to look up, too)."""
    role_id, secret = approle(server.client(root), "oracle")
    path = "auth/oracle/role/r/secret-id/lookup"
    statuses = [call(server, ME, path, {"secret_id": f"guess-{n}"}, root)[0] for n in range(3)]
    assert statuses == [204, 204, 204]
    status, headers, _ = call(server, ME, path, {"secret_id": secret}, root)
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    # Logins on that mount from that address are guesses too: throttled alike.
    login = {"role_id": role_id, "secret_id": secret}
    assert call(server, ME, "auth/oracle/login", login)[0] == 429
    status, _, body = call(server, OTHER, path, {"secret_id": secret}, root)
    assert status == 200
    assert body["data"]["secret_id_num_uses"] == 0
