"""Expired `iam_user` leases are revoked, each exactly once, while IAM throttles and fails.

The proxy answers a share of every call of the revocation sequence with `Throttling` (400),
`InternalFailure` (500) or `ServiceUnavailable` (503). Two layers retry: boto3 (the mount's
`max_retries`, standard mode: backoff of random() x 2^n s, at most 20 s) and the lease manager
(a revocation that still fails is retried with backoff; after `max_attempts` failures the lease
is irrevocable). The servers' `revocation` block shortens the lease manager's backoff from its
default (10 s x 2^n, +-50 %) to 1 s x 2^n, at most 2 s, so that its retries fit in a test.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from tests.support.reliability import (
    LEASE_PREFIX,
    REVOKE_ACTIONS,
    AWSWorld,
    Broker,
    add_revocation_block,
    issue,
    per_user,
    wait_for,
)
from tests.support.server import ServerFactory, ServerProcess

pytestmark = pytest.mark.reliability

LEASES = 32
# boto3's standard retry mode keeps a retry quota per client (500; a throttled retry costs 5, a
# 5xx one 14, and a success refunds only the last): at a much higher share it runs dry, boto3
# stops retrying, and nearly every revocation attempt fails on one of its ~9 essential calls.
SHARE = 0.3
FAULTS = (
    (400, "Throttling", "Rate exceeded"),
    (500, "InternalFailure", "We encountered an internal error. Please try again."),
    (503, "ServiceUnavailable", "Service is unavailable. Please try again."),
)
FAULTED = tuple(a for a in REVOKE_ACTIONS if a != "ListServiceSpecificCredentials")


def fast_retrying_server(servers: ServerFactory, max_attempts: int) -> ServerProcess:
    """A SQLite server whose lease manager retries after 1 s x 2^n (+-50 %), at most 2 s."""
    server = servers.sqlite(start=False)
    add_revocation_block(server, max_attempts=max_attempts, initial_backoff="1s", max_backoff="2s")
    server.start()
    return server


def inject_share(world: AWSWorld, share: float, seed: int) -> None:
    """Answer `share` of each revocation call with one of `FAULTS`, each as likely."""
    for n, action in enumerate(FAULTED):
        for k, (status, code, message) in enumerate(FAULTS):
            # The first fault that fires answers the call: scale each so all are equally likely.
            chance = (share / len(FAULTS)) / (1 - k * share / len(FAULTS))
            world.recorder.inject(
                action, status, code, message, probability=chance, seed=seed + 10 * n + k
            )


def test_expired_leases_are_all_revoked_through_throttling_and_5xx(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    server = fast_retrying_server(servers, max_attempts=20)
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=3, lease="1s", lease_max="5s")
    inject_share(aws, SHARE, seed=20240601)

    issued = issue(server, broker.token, LEASES, threads=8)
    created = per_user(aws.calls("CreateUser"), ok=True)
    assert Counter(created.values()) == Counter({1: LEASES})

    wait_for(lambda: not broker.leases(), timeout=50, what="every expired lease revoked")
    assert aws.users() == set()
    assert broker.irrevocable_count() == 0
    for item in issued:
        assert broker.lookup(item.lease_id) is None

    faults = [c for c in aws.calls() if c.injected and c.action in FAULTED]
    codes = Counter(c.status for c in faults)
    assert set(codes) == {400, 500, 503}, codes
    attempted = [c for c in aws.calls() if c.action in FAULTED]
    assert len(faults) > len(attempted) * SHARE / 2, (len(faults), len(attempted))
    # Each lease's user was deleted exactly once, and no revocation ran after its success.
    assert per_user(aws.calls("DeleteUser"), ok=True) == created
    refused = [c for c in aws.calls("DeleteUser") if not c.injected and c.status != 200]
    assert refused == []
    assert "irrevocable" not in server.log()
    attempts = Counter(per_user(aws.calls("ListGroupsForUser"), ok=True).values())
    print(f"{len(faults)} faults of {len(attempted)} calls; leases by attempts: {attempts}")


def test_the_lease_manager_retries_a_failed_revocation_and_keeps_an_irrevocable_lease(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    server = fast_retrying_server(servers, max_attempts=3)
    broker = Broker(server, server.init_and_unseal())
    # No boto3 retries: a fault fails the revocation attempt, and only the lease manager retries.
    broker.configure_aws(aws, max_retries=0, lease="1s", lease_max="5s")

    # Two failed attempts, then the third deletes the user.
    aws.recorder.inject("DeleteUser", 503, "ServiceUnavailable", "try again", times=2)
    (first,) = issue(server, broker.token, 1, threads=1)
    wait_for(lambda: aws.calls("DeleteUser"), timeout=15, what="the first attempt")
    failed_at = time.monotonic()
    wait_for(lambda: broker.lookup(first.lease_id) is None, timeout=20, what="the third attempt")
    # Backoff before attempts 2 and 3: 1 s x 2^n +-50 %, capped at 2 s: at least 1 + 1 s.
    assert time.monotonic() - failed_at >= 1.8
    assert [c.status for c in aws.calls("DeleteUser")] == [503, 503, 200]
    assert aws.users() == set()

    # Failing every time: after 3 attempts the lease is irrevocable, listed, and kept.
    aws.clear_faults()
    aws.recorder.inject("DeleteUser", 503, "ServiceUnavailable", "try again")
    aws.recorder.clear()
    (second,) = issue(server, broker.token, 1, threads=1)
    wait_for(lambda: broker.irrevocable_count() == 1, timeout=20, what="irrevocable")
    assert [c.status for c in aws.calls("DeleteUser")] == [503, 503, 503]
    listed = broker.ok("GET", "sys/leases", params={"type": "irrevocable"})["data"]["leases"]
    assert [lease["lease_id"] for lease in listed] == [second.lease_id]
    assert "ServiceUnavailable" in listed[0]["error"]
    assert broker.lookup(second.lease_id) is not None
    assert len(aws.users()) == 1
    assert "irrevocable" in server.log()

    # AWS recovers: revoking it by hand works, and nothing is left.
    aws.clear_faults()
    broker.ok("PUT", "sys/leases/revoke", json={"lease_id": second.lease_id})
    assert broker.leases(LEASE_PREFIX) == []
    assert broker.irrevocable_count() == 0
    assert aws.users() == set()
