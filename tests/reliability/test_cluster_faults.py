"""A cluster under faults: a node killed mid-load, and PostgreSQL stopped and started.

- One of three nodes on one PostgreSQL is killed (SIGKILL) while every node issues `iam_user`
  credentials: the other two answer every request they get, without a 5xx; the dead node's
  leases are revoked on time by the others, and the users of its half-made requests are rolled
  back by them once its heartbeat is old (docs/leases.md).
- PostgreSQL stopped and started under two nodes: each answers 503 while it is gone, and after
  it is back a change made on one node holds for the next request on the other.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from tests.support import postgres
from tests.support.cluster import start_cluster, status
from tests.support.pg_cluster import PgCluster
from tests.support.reliability import AWSWorld, Issuance, wait_for, wait_rolled_back
from tests.support.server import ServerFactory

from awsbroker.http.errors import status_for
from awsbroker.sdk.errors import StorageUnavailable

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

THREADS_PER_NODE = 4
LEASE_TTL = 20  # seconds: the dead node's leases fall due while the test watches
KILL_AFTER = 24  # credentials issued (over all nodes) before the kill
AFTER_KILL = 40  # credentials the survivors issue after it


@pytest.fixture
def table(pg_dsn: str) -> Iterator[str]:
    name = postgres.fresh_table_name()
    yield name
    postgres.drop_table(pg_dsn, name)


def test_a_node_killed_under_load_leaves_the_others_serving_and_its_leases_to_them(
    aws: AWSWorld, pg_dsn: str, table: str, servers: ServerFactory
) -> None:
    cluster = start_cluster(servers, ("postgresql", pg_dsn, table), 3)
    first, *_, victim = cluster.nodes
    first.configure_aws(aws, max_retries=0, lease=f"{LEASE_TTL}s", lease_max="1h")
    loads = [
        Issuance(node.server, cluster.token, THREADS_PER_NODE, 10_000) for node in cluster.nodes
    ]
    for load in loads:
        load.start()
    wait_for(lambda: sum(load.count() for load in loads) >= KILL_AFTER, timeout=60, what="warm-up")
    assert victim.server.proc is not None
    os.kill(victim.server.proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    loads[-1].stop()
    survivors = loads[:-1]
    before = sum(load.count() for load in survivors)
    wait_for(
        lambda: sum(load.count() for load in survivors) >= before + AFTER_KILL,
        timeout=60,
        what="the survivors went on issuing",
    )
    for load in loads:
        load.stop()
    for load in loads:
        load.join(timeout=60)
    assert victim.server.stop() == -signal.SIGKILL

    # Not one failed answer from a survivor; the victim's clients saw their connection go.
    for load in survivors:
        assert load.failures == [], load.failures[:3]
    assert loads[-1].failures, "no request was in flight on the killed node"
    victims_leases = {item.lease_id for item in loads[-1].issued}
    assert victims_leases, "the killed node issued nothing"

    # Its leases (and everyone's) expire and are revoked by the survivors; the users of its
    # half-made requests are rolled back once its heartbeat is old.
    wait_for(lambda: not first.leases(), timeout=LEASE_TTL + 60, what="every lease revoked")
    wait_rolled_back(aws, 0, "rollback of the killed node's half-made users")
    assert first.irrevocable_count() == 0
    print(
        f"killed one of 3 nodes ({len(loads[-1].failures)} of its requests failed); the others"
        f" issued {sum(load.count() for load in survivors)} credentials without a failure;"
        f" every lease revoked and every user gone {time.monotonic() - killed_at:.1f} s after"
    )
    assert "Traceback" not in cluster.logs()


def test_after_postgresql_stops_and_starts_every_node_is_coherent_again(
    private_pg: PgCluster, servers: ServerFactory
) -> None:
    cluster = start_cluster(servers, ("postgresql", private_pg.dsn, "awsbroker_kv"), 2)
    a, b = cluster.nodes
    a.ok("PUT", "sys/policies/acl/probe", json={"policy": _allow("sys/mounts")})
    token = a.ok("POST", "auth/token/create", json={"policies": ["probe"]})["auth"]["client_token"]
    assert status(b, "GET", "sys/mounts", token) == 200

    private_pg.stop("immediate")
    unavailable = status_for(StorageUnavailable())
    for node in cluster.nodes:
        response = node.server.request("GET", "sys/mounts", token=token, timeout=30)
        assert response.status_code == unavailable, response.text
        assert response.json() == {"errors": ["storage unavailable"]}
    private_pg.start()
    for node in cluster.nodes:
        wait_for(
            lambda node=node: status(node, "GET", "sys/mounts", token) == 200,
            timeout=15,
            interval=0.1,
            what="serving again",
        )
    for n, writer, reader in cluster.pairs(10):
        path = "sys/mounts" if n % 2 else "sys/nothing"
        writer.ok("PUT", "sys/policies/acl/probe", json={"policy": _allow(path)})
        assert status(reader, "GET", "sys/mounts", token) == (200 if n % 2 else 403), f"round {n}"
    assert "Traceback" not in cluster.logs()


def _allow(path: str) -> str:
    return f'path "{path}" {{ capabilities = ["read"] }}'
