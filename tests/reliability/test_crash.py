"""A broker killed (SIGKILL) while issuing `iam_user` credentials leaks no IAM user and loses
no credential it handed out.

Forty threads request credentials from a SQLite-backed server; once some have come back, the
process is killed with requests in flight. Some of those had created an IAM user whose lease was
never stored: their write-ahead entries are left behind. After a restart on the same file, the
periodic rollback removes those users once the dead process's heartbeat has expired (30 s after
its last beat; the periodic jobs run every 15 s). Then every IAM user must have exactly one
lease, and every credential a client received must have its lease and its user.

The leases are then revoked: those delivered in parallel (each must delete the user owning its
key), the others one by one, which tells from the IAM calls each makes which user it names.

A request killed after its lease was stored but before its write-ahead entry was cleared leaves
a lease whose user the rollback deletes (a "ghost" lease): its credentials never reached the
client, and revoking it fails with NoSuchEntity until the lease is 5 minutes old (the grace for
IAM's eventual consistency). The test tolerates those, and only those.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest
from tests.support.reliability import (
    LEASE_PREFIX,
    MOUNT,
    AWSWorld,
    Broker,
    Issuance,
    per_user,
    revoke_each,
    revoke_parallel,
    wait_for,
    wait_rolled_back,
)
from tests.support.server import ServerFactory

pytestmark = pytest.mark.reliability

THREADS = 40
PER_THREAD = 10
KILL_AFTER = 30  # credentials received before the kill
# The dead boot's heartbeat expires 30 s after its last beat (<= 5 s before the kill), and the
# rollback runs with the periodic jobs, every 15 s: ~45 s after the restart at worst.


def test_sigkill_during_issuance_leaks_no_user_and_loses_no_lease(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    server = servers.sqlite()
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=0)

    run = Issuance(server, broker.token, THREADS, PER_THREAD)
    run.start()
    wait_for(lambda: run.count() >= KILL_AFTER, timeout=60, what="first credentials issued")
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGKILL)
    run.stop()
    run.join(timeout=60)
    assert server.stop() == -signal.SIGKILL
    received = {item.lease_id: item for item in run.issued}
    assert run.failures, "no request was in flight when the server was killed"

    server.start()
    broker.unseal()
    leases = set(broker.leases())
    missing = set(received) - leases
    assert not missing, f"credentials handed out without a lease: {sorted(missing)[:5]}"
    orphans = len(aws.users()) - len(leases)
    assert orphans > 0, "the kill left no half-made user: nothing to roll back"

    # The rollback deletes the orphans (and the users of ghost leases) in one pass: done when
    # no more users than leases are left and the count has held for a while.
    wait_rolled_back(aws, len(leases), "rollback of the users of dead write-ahead entries")
    assert broker.irrevocable_count() == 0
    users = aws.users()
    owners = aws.key_owners()
    for lease_id, item in received.items():
        assert item.access_key in owners, f"the user of delivered lease {lease_id} is gone"

    # Delivered leases first, in parallel: they delete exactly the users owning their keys.
    before = len(aws.calls())
    statuses = revoke_parallel(broker, received)
    assert set(statuses.values()) == {204}, Counter(statuses.values())
    deleted = per_user((c for c in aws.calls()[before:] if c.action == "DeleteUser"), ok=True)
    assert deleted == Counter(owners[item.access_key] for item in received.values())
    # The others one at a time, to tell which user each names.
    revocations = revoke_each(broker, aws, sorted(leases - set(received)))
    revoked = [r for r in revocations if r.status == 204]
    assert all(r.deleted for r in revoked)
    named = Counter(r.username for r in revocations) + deleted
    assert [n for n, count in named.items() if count > 1] == [], "a user with two leases"
    # Every IAM user left after the rollback had exactly one lease: nothing leaked.
    assert set(deleted) | {r.username for r in revoked} == users
    ghosts = [r for r in revocations if r.status != 204]
    print(
        f"{len(received)} delivered, {len(leases)} leases, {orphans} orphans, {len(ghosts)} ghosts"
    )
    for ghost in ghosts:
        assert ghost.username not in users
        assert ghost.status == 400, ghost
        assert "NoSuchEntity" in ghost.error, ghost
    assert len(ghosts) <= THREADS, "more ghosts than requests in flight at the kill"

    broker.ok("PUT", f"sys/leases/revoke-force/{MOUNT}/")
    assert broker.leases(LEASE_PREFIX) == []
    assert aws.users() == set()
    assert "Traceback" not in server.log()
