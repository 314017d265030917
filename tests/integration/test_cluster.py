"""Two server processes on one PostgreSQL table are two nodes of one cluster: each lists both
in `sys/ha-status`, each is its own leader in `sys/leader`, and a stopped node leaves the list
once its heartbeat is older than `node_dead_after` (set short here to keep the test fast)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.support.reliability import wait_for
from tests.support.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.postgres

DEAD_AFTER = 3  # seconds, the shortest the configuration allows


def ha_status(server: ServerProcess, token: str) -> dict[str, Any]:
    response = server.request("GET", "sys/ha-status", token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["nodes"] == body["data"]["nodes"]  # Vault copies it to the top level
    return body


def test_each_node_lists_both_and_leads_itself_until_one_stops(
    pg_dsn: str, pg_table: str, servers: ServerFactory
) -> None:
    settings: dict[str, str | int] = {"node_dead_after": f"{DEAD_AFTER}s"}
    a = servers.postgresql(pg_dsn, pg_table, settings=settings)
    b = servers.postgresql(pg_dsn, pg_table, settings=settings)
    init = a.init_and_unseal()
    b.unseal(init.keys)
    token = init.root_token

    for server in (a, b):
        nodes = ha_status(server, token)["nodes"]
        assert sorted(n["api_address"] for n in nodes) == sorted([a.url, b.url])
        assert all(n["active_node"] is True and n["last_echo"].endswith("Z") for n in nodes)
        assert {n["cluster_address"] for n in nodes} == {""}
        health = server.request("GET", "sys/health").json()
        assert (health["sealed"], health["standby"]) == (False, False)  # every node is active
        leader = server.client().sys.read_leader_status()
        assert (leader["ha_enabled"], leader["is_self"]) == (True, True)
        assert leader["leader_address"] == server.url
    assert ha_status(a, token)["nodes"] == ha_status(b, token)["nodes"]  # one stable order
    assert b.request("GET", "sys/ha-status").status_code == 403  # a token is needed

    stopped = time.monotonic()
    assert b.stop() == 0
    wait_for(
        lambda: [n["api_address"] for n in ha_status(a, token)["nodes"]] == [a.url],
        timeout=DEAD_AFTER + 10,
        interval=0.2,
        what="the stopped node to leave sys/ha-status",
    )
    assert time.monotonic() - stopped < DEAD_AFTER + 5
    assert "Traceback" not in a.log() + b.log()
