"""Two broker processes on one PostgreSQL table share a backlog of expired leases and revoke
each exactly once.

Server A issues `iam_user` credentials with a short lease and stops before any is due. Then A and
B (a second process on the same table) are unsealed with the same keys, and both expiry workers
claim due leases from the shared index. Every user must be deleted exactly once: a second
revocation of a lease would call IAM for a user already gone.

Which process made an IAM call is told by boto3's user agent: each server is started with its
own `AWS_SDK_UA_APP_ID`, which boto3 appends as `app/<id>`.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from tests.support.aws_proxy import Call
from tests.support.reliability import AWSWorld, Broker, issue, per_user, wait_for
from tests.support.server import ServerFactory

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

LEASES = 60
LEASE_TTL = 30  # seconds: A stops, and A and B start, before the first lease is due


def node_of(call: Call) -> str:
    agent = call.headers.get("user-agent", "")
    nodes = {n for n in ("node-a", "node-b") if f"app/{n}" in agent}
    assert len(nodes) == 1, agent
    return nodes.pop()


def test_two_processes_drain_one_backlog_revoking_each_lease_once(
    aws: AWSWorld,
    pg_dsn: str,
    pg_table: str,  # dropped after `servers` has stopped the processes
    servers: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "node-a")
    node_a = servers.postgresql(pg_dsn, pg_table)
    broker_a = Broker(node_a, node_a.init_and_unseal())
    broker_a.configure_aws(aws, max_retries=1, lease=f"{LEASE_TTL}s", lease_max="1h")
    first_issued = time.monotonic()
    issued = issue(node_a, broker_a.token, LEASES, threads=10)
    node_a.stop()
    created = per_user(aws.calls("CreateUser"), ok=True)
    assert Counter(created.values()) == Counter({1: LEASES})
    assert aws.calls("DeleteUser") == [], "A revoked leases before it stopped"
    aws.recorder.clear()

    node_a.start()
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "node-b")
    node_b = servers.postgresql(pg_dsn, pg_table)
    broker_b = Broker(node_b, broker_a.init)
    broker_a.unseal()
    broker_b.unseal()
    up = time.monotonic() - first_issued
    assert up < LEASE_TTL, "a lease fell due before both were up"
    assert set(broker_b.leases()) == {item.lease_id for item in issued}

    wait_for(lambda: not broker_a.leases(), timeout=60, what="the backlog drained")
    assert broker_b.leases() == []
    assert aws.users() == set()
    assert broker_a.irrevocable_count() == 0
    assert broker_b.irrevocable_count() == 0

    # Each user deleted once, and no revocation of a lease started twice.
    deleted = per_user(aws.calls("DeleteUser"), ok=True)
    assert deleted == created
    assert [c for c in aws.calls("DeleteUser") if c.status != 200] == []
    assert per_user(aws.calls("ListGroupsForUser")) == created
    # Both processes took part.
    by_node = Counter(node_of(c) for c in aws.calls("DeleteUser"))
    print(f"revocations by process: {dict(by_node)}; up {up:.1f} s after the first issue")
    assert set(by_node) == {"node-a", "node-b"}, by_node
    assert sum(by_node.values()) == LEASES
    for node in (node_a, node_b):
        assert "Traceback" not in node.log()
