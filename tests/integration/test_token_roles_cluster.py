"""Token roles on two nodes of one cluster (two server processes on one PostgreSQL table): a
role written, changed or deleted on one node is in force on the other for its very next
request, and revoking a role's tokens by prefix on one node revokes those made on the other."""

from __future__ import annotations

import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from tests.support.cluster import Cluster, start_cluster
from tests.support.server import ServerFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(pg_dsn: str, pg_table: str, servers: ServerFactory) -> Cluster:
    return start_cluster(servers, ("postgresql", pg_dsn, pg_table), 2)


def test_role_written_on_one_node_is_used_on_the_other_at_once(cluster: Cluster) -> None:
    a, b = (node.server.client(cluster.token) for node in cluster.nodes)
    a.auth.token.create_or_update_role("deploy", allowed_policies=["deployer"], orphan=True)
    auth = b.auth.token.create(role_name="deploy")["auth"]
    assert (auth["policies"], auth["orphan"]) == (["default", "deployer"], True)
    assert b.auth.token.read_role("deploy")["data"]["allowed_policies"] == ["deployer"]

    b.auth.token.create_or_update_role("deploy", allowed_policies=["reader"])
    on_a = a.auth.token.create(role_name="deploy")["auth"]
    assert on_a["policies"] == ["default", "reader"]
    with pytest.raises(InvalidRequest, match="must be subset"):
        a.auth.token.create(role_name="deploy", policies=["deployer"])

    b.sys.revoke_prefix("auth/token/create/deploy")  # the token made on B, and A's
    for made in (auth, on_a):
        with pytest.raises(Forbidden):
            a.auth.token.lookup(made["client_token"])

    a.auth.token.delete_role("deploy")
    with pytest.raises(InvalidRequest, match="unknown role deploy"):
        b.auth.token.create(role_name="deploy")
    assert "Traceback" not in cluster.logs()
