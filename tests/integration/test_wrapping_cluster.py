"""Wrapping tokens and cubbyholes on two nodes of one PostgreSQL table: a response wrapped on
one node unwraps on the other, unwraps racing on both are answered once, and a cubbyhole goes
with its token whichever node revokes it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql
from tests.support.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.postgres

INVALID = "wrapping token is not valid or does not exist"


@pytest.fixture
def nodes(pg_dsn: str, pg_table: str, servers: ServerFactory) -> tuple[ServerProcess, ...]:
    a = servers.postgresql(pg_dsn, pg_table)
    b = servers.postgresql(pg_dsn, pg_table)
    init = a.init_and_unseal()
    b.unseal(init.keys)
    a.root_token = b.root_token = init.root_token  # type: ignore[attr-defined]
    return a, b


def root(node: ServerProcess) -> str:
    token: str = node.root_token  # type: ignore[attr-defined]
    return token


def wrap(node: ServerProcess, data: dict[str, Any]) -> str:
    resp = node.request(
        "POST", "sys/wrapping/wrap", root(node), headers={"X-Vault-Wrap-TTL": "5m"}, json=data
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["wrap_info"]["token"]
    return token


def cubbyhole_keys(dsn: str, table: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE key LIKE 'cubbyhole/%'")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query.format(sql.Identifier(table))).fetchone()
    assert row is not None
    count: int = row[0]
    return count


def race(nodes: tuple[ServerProcess, ...], token: str, callers: int = 8) -> list[tuple[int, Any]]:
    """`callers` unwraps of `token` at once, spread over the nodes, half with the wrapping token
    as the request's token and half with it in the body (a third party). Each on its own
    connection."""
    start = threading.Barrier(callers)

    def unwrap(i: int) -> tuple[int, Any]:
        node = nodes[i % len(nodes)]
        third_party = i % 4 < 2
        headers = {"X-Vault-Token": root(node) if third_party else token}
        body = {"token": token} if third_party else None
        start.wait()
        resp = requests.post(node.v1("sys/wrapping/unwrap"), headers=headers, json=body, timeout=30)
        return resp.status_code, resp.json()

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(unwrap, range(callers)))


def test_unwraps_racing_on_two_nodes_are_answered_once(
    nodes: tuple[ServerProcess, ...], pg_dsn: str, pg_table: str
) -> None:
    a = nodes[0]
    for round_ in range(6):
        answers = race(nodes, wrap(a, {"round": round_}))
        won = [body for status, body in answers if status == 200]
        assert len(won) == 1, answers
        assert won[0]["data"] == {"round": round_}
        # The losers are told the token is spent (or, mid-race, that it is not theirs to use).
        lost = [body for status, body in answers if status != 200]
        assert all(
            body in ({"errors": [INVALID]}, {"errors": ["permission denied"]}) for body in lost
        ), answers
    assert cubbyhole_keys(pg_dsn, pg_table) == 0  # every wrapping token's cubbyhole went


def test_wrapped_on_one_node_unwrapped_and_looked_up_on_the_other(
    nodes: tuple[ServerProcess, ...],
) -> None:
    a, b = nodes
    token = wrap(a, {"k": "v"})
    looked = b.request("POST", "sys/wrapping/lookup", json={"token": token})
    assert looked.json()["data"]["creation_path"] == "sys/wrapping/wrap"
    assert b.request("POST", "sys/wrapping/unwrap", token).json()["data"] == {"k": "v"}
    again = a.request("POST", "sys/wrapping/unwrap", token)
    assert (again.status_code, again.json()) == (400, {"errors": [INVALID]})
    # A JWT signed on one node verifies on the other: one key, made once, shared.
    headers = {"X-Vault-Wrap-TTL": "60", "X-Vault-Wrap-Format": "jwt"}
    signed = b.request("POST", "sys/wrapping/wrap", root(b), headers=headers, json={"j": 1})
    jwt_token = signed.json()["wrap_info"]["token"]
    assert jwt_token.count(".") == 2
    assert a.request("POST", "sys/wrapping/unwrap", jwt_token).json()["data"] == {"j": 1}


def test_a_cubbyhole_revoked_on_one_node_is_gone_on_both(
    nodes: tuple[ServerProcess, ...], pg_dsn: str, pg_table: str
) -> None:
    a, b = nodes
    created = a.request("POST", "auth/token/create", root(a), json={"policies": ["default"]})
    token = created.json()["auth"]["client_token"]
    assert a.request("POST", "cubbyhole/shared", token, json={"v": 1}).status_code == 204
    assert b.request("GET", "cubbyhole/shared", token).json()["data"] == {"v": 1}
    assert b.request("GET", "cubbyhole/shared", root(b)).status_code == 404  # not root's
    assert cubbyhole_keys(pg_dsn, pg_table) == 1
    assert b.request("POST", "auth/token/revoke-self", token).status_code == 204
    assert cubbyhole_keys(pg_dsn, pg_table) == 0
    assert a.request("GET", "cubbyhole/shared", token).status_code == 403
