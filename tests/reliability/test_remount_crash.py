"""A broker killed (SIGKILL) in the middle of `sys/remount` finishes the move after a restart.

An AppRole mount with 1,500 tokens is moved; moving them takes seconds on SQLite (about 2 ms a
token), so the process is killed while the move is `in-progress`, some tokens moved and some
not. After the restart on the same file, once the dead process's heartbeat is stale
(`node_dead_after`, 3 s here) the background tick (every 15 s) resumes the move from its stored
intent: the status becomes `success`, every token's lease is listed under the new path and none
under the old, and every token still works.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.support.reliability import wait_for
from tests.support.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.reliability

TOKENS = 1500


def status(server: ServerProcess, token: str, migration: str) -> str:
    response = server.request("GET", f"sys/remount/status/{migration}", token=token)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["migration_info"]["status"])


def listed(server: ServerProcess, token: str, prefix: str) -> list[str]:
    response = server.request("LIST", f"sys/leases/lookup/{prefix}", token=token)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    keys: list[str] = response.json()["data"]["keys"]
    return keys


def test_sigkill_during_a_remount_is_finished_after_the_restart(servers: ServerFactory) -> None:
    server = servers.sqlite(settings={"node_dead_after": "3s"})
    init = server.init_and_unseal()
    root = init.root_token

    def call(method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        response = server.request(method, path, token=root, json=body)
        assert response.status_code in (200, 204), response.text
        return response.json() if response.status_code == 200 else {}

    call("POST", "sys/auth/approle", {"type": "approle"})
    call("POST", "auth/approle/role/r", {"token_ttl": "1h", "token_policies": ["default"]})
    role_id = server.request("GET", "auth/approle/role/r/role-id", token=root).json()["data"]
    secret = call("POST", "auth/approle/role/r/secret-id")["data"]
    body = {"role_id": role_id["role_id"], "secret_id": secret["secret_id"]}  # type: ignore[index]

    def login(_: int) -> str:
        response = server.request("POST", "auth/approle/login", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["auth"]["client_token"])

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(login, range(TOKENS)))
    assert len(listed(server, root, "auth/approle/login/")) == TOKENS

    migration = str(
        call("POST", "sys/remount", {"from": "auth/approle", "to": "auth/moved"})["migration_id"]
    )
    wait_for(
        lambda: 0 < len(listed(server, root, "auth/moved/login/")) < TOKENS // 3,
        timeout=20,
        interval=0.05,
        what="the move to be under way",
    )
    server.kill()  # half-way: some tokens moved, most not

    server.start()
    server.unseal(init.keys)
    started = time.monotonic()
    wait_for(
        lambda: status(server, root, migration) == "success",
        timeout=60,
        interval=0.5,
        what="the move to be resumed and finished",
    )
    resumed_after = time.monotonic() - started
    assert listed(server, root, "auth/approle/login/") == []
    assert len(listed(server, root, "auth/moved/login/")) == TOKENS
    for token in tokens[:: TOKENS // 20]:
        me = server.request("GET", "auth/token/lookup-self", token=token)
        assert me.status_code == 200, me.text
        assert me.json()["data"]["path"] == "auth/moved/login"
    assert server.request("POST", "auth/moved/login", json=body).status_code == 200
    assert resumed_after < 45, resumed_after
    assert "resuming mount move" in server.log()  # finished by the restarted process
