"""A reason on every credential (engines/aws/reason.py) across nodes on one PostgreSQL: the
role's requirement written on one node holds at once on the other, and a lease issued on one
shows its reason in a lookup on the other (the reason lives in the shared lease record)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support import postgres
from tests.support.cluster import start_cluster
from tests.support.reliability import MOUNT, ROLE, AWSWorld
from tests.support.server import ServerFactory

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]


@pytest.fixture
def table(pg_dsn: str) -> Iterator[str]:
    name = postgres.fresh_table_name()
    yield name
    postgres.drop_table(pg_dsn, name)


def test_a_reason_written_on_one_node_is_required_and_shown_on_the_other(
    aws: AWSWorld, pg_dsn: str, table: str, servers: ServerFactory
) -> None:
    cluster = start_cluster(servers, ("postgresql", pg_dsn, table), 2)
    first, second = cluster.nodes
    first.configure_aws(aws, max_retries=0)
    second.ok("POST", f"{MOUNT}/roles/{ROLE}", json={"reason_required": True})

    refused = first.call("POST", f"{MOUNT}/creds/{ROLE}")
    issued = first.ok("POST", f"{MOUNT}/creds/{ROLE}", json={"reason": "INC-7 on node one"})

    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0].startswith("this role requires a reason")
    looked_up = second.lookup(issued["lease_id"])
    assert looked_up is not None
    assert looked_up["reason"] == "INC-7 on node one"
    assert [c.action for c in aws.calls("CreateUser")] == ["CreateUser"]
