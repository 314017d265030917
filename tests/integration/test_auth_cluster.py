"""Auth methods on two nodes of one cluster (two server processes on one PostgreSQL table):
an auth mount and a role made on one node are in force on the other for its very next
request, disabling the mount on one node revokes the tokens the other created through it, and
a secret ID's last use is spent once across both nodes."""

from __future__ import annotations

import threading

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from tests.support.cluster import Cluster, start_cluster
from tests.support.server import ServerFactory

pytestmark = pytest.mark.postgres

RACES = 8


@pytest.fixture
def cluster(pg_dsn: str, pg_table: str, servers: ServerFactory) -> Cluster:
    return start_cluster(servers, ("postgresql", pg_dsn, pg_table), 2)


def clients(cluster: Cluster) -> tuple[hvac.Client, hvac.Client]:
    a, b = cluster.nodes
    return a.server.client(cluster.token), b.server.client(cluster.token)


def test_mount_and_role_from_one_node_log_in_on_the_other(cluster: Cluster) -> None:
    a, b = clients(cluster)
    a.sys.enable_auth_method("approle")
    a.auth.approle.create_or_update_approle("r", token_policies=["default"])
    role_id = a.auth.approle.read_role_id("r")["data"]["role_id"]
    secret_id = a.auth.approle.generate_secret_id("r")["data"]["secret_id"]

    node_b = cluster.nodes[1].server
    auth = node_b.client().auth.approle.login(role_id, secret_id, use_token=False)["auth"]
    token = auth["client_token"]
    assert cluster.nodes[0].server.client(token).auth.token.lookup_self()["data"]["path"] == (
        "auth/approle/login"
    )
    assert "approle/" in b.sys.list_auth_methods()["data"]

    a.sys.disable_auth_method("approle")
    with pytest.raises(Forbidden):
        node_b.client(token).auth.token.lookup_self()
    with pytest.raises(Forbidden):  # the mount is gone on B too (as in Vault: no route, no token)
        node_b.client().auth.approle.login(role_id, secret_id, use_token=False)
    assert "Traceback" not in cluster.logs()


def race(clients: list[hvac.Client], role_id: str, secret_id: str) -> list[str]:
    """Each client logs in with the secret ID at the same moment; what each got."""
    start = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def attempt(client: hvac.Client) -> None:
        start.wait()
        try:
            client.auth.approle.login(role_id, secret_id, use_token=False)
            outcomes.append("ok")
        except InvalidRequest as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attempt, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_a_single_use_secret_id_logs_in_once_across_nodes(cluster: Cluster) -> None:
    a, _ = clients(cluster)
    a.sys.enable_auth_method("approle")
    a.auth.approle.create_or_update_approle("r", secret_id_num_uses=1)
    role_id = a.auth.approle.read_role_id("r")["data"]["role_id"]
    anonymous = [node.server.client() for node in cluster.nodes]
    for _ in range(RACES):
        secret_id = a.auth.approle.generate_secret_id("r")["data"]["secret_id"]
        outcomes = race(anonymous, role_id, secret_id)
        assert len(outcomes) == 2
        assert outcomes.count("ok") == 1, outcomes
        assert any("invalid role or secret ID" in o for o in outcomes)
    assert "Traceback" not in cluster.logs()
