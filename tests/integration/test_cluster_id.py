"""`cluster_id` is a random UUID made at init and kept in storage: the nodes of one cluster
report the same one, two separately initialised servers differ, a restart keeps it, and
storage from before it existed gets one at its first unseal, the same on every node
(issue 15, item 6)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest
from tests.support.cli import CLI
from tests.support.server import ServerFactory, ServerProcess

from awsbroker.core.cluster_info import CLUSTER_INFO_KEY
from awsbroker.physical.postgresql import PostgreSQLStorage


def cluster_ids(server: ServerProcess) -> set[str]:
    """The id as `sys/seal-status` and `sys/health` report it (one, or the test fails)."""
    ids = {
        server.request("GET", path).json()["cluster_id"]
        for path in ("sys/seal-status", "sys/health")
    }
    assert len(ids) == 1, ids
    assert uuid.UUID(next(iter(ids))).version == 4
    return ids


def test_each_cluster_has_its_own_id_and_keeps_it(servers: ServerFactory, tmp_path: Path) -> None:
    a = servers.sqlite()
    b = servers.sqlite()  # same cluster_name ("awsbroker"), separately initialised
    init = a.init_and_unseal()
    b.init_and_unseal()
    [a_id] = cluster_ids(a)
    assert cluster_ids(b) != {a_id}

    a.restart()
    assert "cluster_id" not in a.request("GET", "sys/seal-status").json()  # sealed: not shown
    a.unseal(init.keys)
    assert cluster_ids(a) == {a_id}

    status = CLI(tmp_path / "home", {"AWSBROKER_ADDR": a.url}).ok("status")
    assert f"Cluster ID      {a_id}\n" in status


@pytest.mark.postgres
def test_the_nodes_of_one_cluster_report_one_id(
    servers: ServerFactory, pg_dsn: str, pg_table: str
) -> None:
    a = servers.postgresql(pg_dsn, pg_table)
    b = servers.postgresql(pg_dsn, pg_table)
    init = a.init_and_unseal()
    b.unseal(init.keys)
    assert cluster_ids(a) == cluster_ids(b)


@pytest.mark.postgres
def test_storage_without_an_id_gets_one_the_same_on_every_node(
    servers: ServerFactory, pg_dsn: str, pg_table: str
) -> None:
    a = servers.postgresql(pg_dsn, pg_table)
    b = servers.postgresql(pg_dsn, pg_table)
    init = a.initialize()
    storage = PostgreSQLStorage(pg_dsn, table=pg_table)  # as an older version left it
    try:
        assert storage.get(CLUSTER_INFO_KEY) is not None  # made at init, behind the barrier
        storage.delete(CLUSTER_INFO_KEY)
    finally:
        storage.close()
    # Both nodes unseal at once: whichever writes first, both keep its id.
    unseals = [threading.Thread(target=node.unseal, args=(init.keys,)) for node in (a, b)]
    for thread in unseals:
        thread.start()
    for thread in unseals:
        thread.join()
    assert cluster_ids(a) == cluster_ids(b)
