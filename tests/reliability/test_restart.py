"""A lease outlives the process that issued it: after a restart it still expires, on time."""

from __future__ import annotations

import pytest
from tests.support.reliability import AWSWorld, Broker, issue, wait_for
from tests.support.server import ServerFactory

pytestmark = pytest.mark.reliability


def test_a_lease_survives_a_restart_and_still_expires(
    aws: AWSWorld, servers: ServerFactory
) -> None:
    server = servers.sqlite()
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=1, lease="8s", lease_max="60s")
    (issued,) = issue(server, broker.token, 1, threads=1)
    assert len(aws.users()) == 1
    assert server.stop() == 0  # well before the lease is due

    server.start()
    broker.unseal()
    assert broker.lookup(issued.lease_id) is not None  # the lease came back from storage
    assert len(aws.users()) == 1  # and its user is still there, until the lease ends
    wait_for(lambda: broker.lookup(issued.lease_id) is None, timeout=40, what="the lease expired")
    assert aws.users() == set()
    (delete,) = aws.calls("DeleteUser")
    assert delete.status == 200
