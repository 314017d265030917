"""A token revoked while one of its requests is issuing a credential: whichever comes first, no
lease and no IAM user of the revoked token outlives it.

Each trial creates a token, starts `GET aws/creds/u` (an `iam_user` credential: three IAM calls,
each slowed by the proxy) with it, and revokes the token by its accessor a moment later, the
moment spread over the issuance so that some revocations land before the lease is registered
and some after. On one node, and with the issuance on one node and the revocation on another
(two nodes on one PostgreSQL table). An answer may be a credential (the revocation came after
the lease was stored; the credential is revoked with the token) or a 403 (the token was gone
when the lease was stored: the credential is revoked at once); either way, once the expiry
worker has run, no lease and no IAM user is left.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from tests.support import postgres
from tests.support.cluster import Cluster, start_cluster
from tests.support.reliability import LEASE_PREFIX, MOUNT, ROLE, AWSWorld, Broker, wait_for
from tests.support.server import ServerFactory

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

TRIALS = 24
CALL_LATENCY = 0.02  # seconds the proxy adds to each IAM call: an issuance takes ~0.1 s
CREDS_POLICY = f'path "{MOUNT}/creds/{ROLE}" {{ capabilities = ["read"] }}'


@pytest.fixture
def cluster(aws: AWSWorld, pg_dsn: str, servers: ServerFactory) -> Iterator[Cluster]:
    table = postgres.fresh_table_name()
    try:
        made = start_cluster(servers, ("postgresql", pg_dsn, table), 2)
        made.nodes[0].configure_aws(aws, max_retries=0)
        made.nodes[0].ok("PUT", "sys/policies/acl/creds", json={"policy": CREDS_POLICY})
        yield made
    finally:
        servers.close()
        postgres.drop_table(pg_dsn, table)


def _trial(issuer: Broker, revoker: Broker, delay: float) -> int:
    """Issue with a fresh token on `issuer`, revoke it on `revoker` `delay` seconds after the
    request was sent; the issuance's HTTP status."""
    created = revoker.ok("POST", "auth/token/create", json={"policies": ["creds"]})["auth"]
    token, accessor = created["client_token"], created["accessor"]
    statuses: list[int] = []

    def issue() -> None:
        statuses.append(
            issuer.server.request("GET", f"{MOUNT}/creds/{ROLE}", token=token).status_code
        )

    thread = threading.Thread(target=issue)
    thread.start()
    time.sleep(delay)
    revoker.ok("POST", "auth/token/revoke-accessor", json={"accessor": accessor})
    thread.join(30)
    assert statuses, "the issuance did not answer"
    return statuses[0]


def _issuance_time(node: Broker) -> float:
    """How long one issuance takes here, now (revoked at once, as the trials' are)."""
    started = time.monotonic()
    issued = node.ok("GET", f"{MOUNT}/creds/{ROLE}")
    took = time.monotonic() - started
    node.ok("PUT", "sys/leases/revoke", json={"lease_id": issued["lease_id"]})
    return took


@pytest.mark.parametrize("across_nodes", [False, True], ids=["one-node", "across-nodes"])
def test_no_credential_outlives_a_token_revoked_during_its_issuance(
    aws: AWSWorld, cluster: Cluster, across_nodes: bool
) -> None:
    issuer = cluster.nodes[0]
    revoker = cluster.nodes[1] if across_nodes else issuer
    aws.recorder.latency = CALL_LATENCY
    took = _issuance_time(issuer)
    outcomes: Counter[int] = Counter()
    for n in range(TRIALS):
        # Revocation moments spread from the request's start to past its end.
        outcomes[_trial(issuer, revoker, delay=took * 1.2 * n / TRIALS)] += 1
    aws.recorder.latency = 0
    print(f"{TRIALS} trials: {dict(outcomes)} (200: revoked after its lease was stored)")
    assert set(outcomes) <= {200, 403}, outcomes
    wait_for(lambda: not issuer.leases(LEASE_PREFIX), timeout=30, what="every lease revoked")
    wait_for(lambda: not aws.users(), timeout=30, what="every IAM user deleted")
    assert outcomes[200], f"no revocation came after a lease was stored: {outcomes}"
    assert outcomes[403], f"no revocation came before a lease was stored: {outcomes}"
    assert issuer.irrevocable_count() == 0
    assert "Traceback" not in cluster.logs()
