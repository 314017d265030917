"""Several nodes on one storage act as one server: every change answered by one node is in force
for the very next request on any other node.

Each test makes one kind of change on a node and, as soon as the answer is in, sends the next
request to another node, in a loop with the nodes taking turns, so that a window of staleness
(a node serving from what it had in memory) would show. Three nodes share one PostgreSQL table;
two share one SQLite file (docs/architecture.md, "Several nodes").
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.support import postgres
from tests.support.cluster import Cluster, start_cluster, status
from tests.support.reliability import wait_for
from tests.support.server import ServerFactory

pytestmark = [pytest.mark.reliability]

ROUNDS = 24
# Heartbeats every second (a sixth of it): the keyring test waits for each node's next one.
SETTINGS: dict[str, str | int] = {"node_dead_after": "6s"}
PROBE_PATH = "sys/mounts"
ALLOW = f'path "{PROBE_PATH}" {{ capabilities = ["read"] }}'
NARROWED = 'path "sys/nothing" { capabilities = ["read"] }'


@pytest.fixture(
    scope="module",
    params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"],
)
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One cluster for the module's tests; each changes only what it made itself."""
    root = tmp_path_factory.mktemp("cluster")
    servers = ServerFactory(root)
    table = ""
    try:
        if request.param == "postgresql":
            table = postgres.fresh_table_name()
            storage = ("postgresql", postgres.require_server(postgres.dsn()), table)
            yield start_cluster(servers, storage, 3, SETTINGS)
        else:
            yield start_cluster(servers, ("sqlite", str(root / "shared.db")), 2, SETTINGS)
    finally:
        servers.close()
        if table:
            postgres.drop_table(postgres.dsn(), table)


@pytest.fixture(autouse=True)
def no_tracebacks(cluster: Cluster) -> Iterator[None]:
    before = cluster.logs().count("Traceback")
    yield
    assert cluster.logs().count("Traceback") == before, cluster.logs()[-4000:]


def _token(cluster: Cluster, **body: object) -> str:
    created = cluster.nodes[0].ok("POST", "auth/token/create", json=body)
    token: str = created["auth"]["client_token"]
    return token


def test_a_policy_changed_on_one_node_governs_the_next_request_on_another(
    cluster: Cluster,
) -> None:
    cluster.nodes[0].ok("PUT", "sys/policies/acl/probe", json={"policy": ALLOW})
    token = _token(cluster, policies=["probe"])
    for n, writer, reader in cluster.pairs(ROUNDS):
        if n % 3 == 0:
            writer.ok("PUT", "sys/policies/acl/probe", json={"policy": NARROWED})
            expected = 403
        elif n % 3 == 1:
            writer.ok("PUT", "sys/policies/acl/probe", json={"policy": ALLOW})
            expected = 200
        else:
            writer.ok("DELETE", "sys/policies/acl/probe")
            expected = 403
        assert status(reader, "GET", PROBE_PATH, token) == expected, f"round {n}"
        if expected == 403:
            writer.ok("PUT", "sys/policies/acl/probe", json={"policy": ALLOW})
            assert status(reader, "GET", PROBE_PATH, token) == 200, f"round {n}, restored"


def test_a_mount_enabled_tuned_and_disabled_on_one_node_is_so_on_the_next_request_elsewhere(
    cluster: Cluster,
) -> None:
    lease = {"lease": "1h", "lease_max": "2h"}
    for n, writer, reader in cluster.pairs(ROUNDS):
        mount = f"coherent{n}"
        writer.ok("POST", f"sys/mounts/{mount}", json={"type": "aws"})
        assert status(reader, "POST", f"{mount}/config/lease", cluster.token, json=lease) == 204
        writer.ok("POST", f"sys/mounts/{mount}/tune", json={"max_lease_ttl": f"{n + 1}h"})
        tuned = reader.ok("GET", f"sys/mounts/{mount}/tune")
        assert tuned["data"]["max_lease_ttl"] == (n + 1) * 3600, f"round {n}"
        writer.ok("DELETE", f"sys/mounts/{mount}")
        assert status(reader, "POST", f"{mount}/config/lease", cluster.token, json=lease) == 404
        assert f"{mount}/" not in reader.ok("GET", "sys/mounts")["data"]


def test_an_auth_mount_enabled_tuned_and_disabled_on_one_node_is_so_on_the_next_request_elsewhere(
    cluster: Cluster,
) -> None:
    for n, writer, reader in cluster.pairs(ROUNDS):
        mount = f"approle{n}"
        writer.ok("POST", f"sys/auth/{mount}", json={"type": "approle"})
        writer.ok("POST", f"auth/{mount}/role/r", json={"secret_id_num_uses": 1})
        role_id = reader.ok("GET", f"auth/{mount}/role/r/role-id")["data"]["role_id"]
        secret = writer.ok("POST", f"auth/{mount}/role/r/secret-id")["data"]["secret_id"]
        login = {"role_id": role_id, "secret_id": secret}
        token = reader.server.request("POST", f"auth/{mount}/login", json=login).json()
        token = token["auth"]["client_token"]
        assert reader.server.request("POST", f"auth/{mount}/login", json=login).status_code == 400
        writer.ok("POST", f"sys/auth/{mount}/tune", json={"max_lease_ttl": f"{n + 1}h"})
        tuned = reader.ok("GET", f"sys/auth/{mount}/tune")
        assert tuned["data"]["max_lease_ttl"] == (n + 1) * 3600, f"round {n}"
        writer.ok("DELETE", f"sys/auth/{mount}")
        assert status(reader, "GET", "auth/token/lookup-self", token) == 403, f"round {n}"
        assert f"{mount}/" not in reader.ok("GET", "sys/auth")["data"]


def test_token_changes_on_one_node_hold_for_the_next_request_on_another(
    cluster: Cluster,
) -> None:
    for n, writer, reader in cluster.pairs(ROUNDS):
        token = writer.ok("POST", "auth/token/create", json={"ttl": "1h"})["auth"]["client_token"]
        assert status(reader, "GET", "auth/token/lookup-self", token) == 200
        child = writer.server.request(
            "POST", "auth/token/create", token=token, json={"ttl": "30m"}
        ).json()["auth"]["client_token"]
        renewed = writer.server.request(
            "POST", "auth/token/renew-self", token=token, json={"increment": "10m"}
        )
        assert renewed.status_code == 200, renewed.text
        ttl = reader.server.request("GET", "auth/token/lookup-self", token=token).json()
        assert 590 <= ttl["data"]["ttl"] <= 600, f"round {n}: {ttl['data']['ttl']}"
        assert status(reader, "GET", "auth/token/lookup-self", child) == 200
        writer.ok("POST", "auth/token/revoke", json={"token": token})
        assert status(reader, "GET", "auth/token/lookup-self", token) == 403, f"round {n}"
        assert status(reader, "GET", "auth/token/lookup-self", child) == 403, f"round {n}"


def test_uses_of_a_token_spread_over_every_node_add_up_to_num_uses(cluster: Cluster) -> None:
    uses = 40
    threads_per_node = 4
    token = _token(cluster, num_uses=uses)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads_per_node * len(cluster.nodes))

    def spend(node_index: int) -> None:
        node = cluster.nodes[node_index]
        start.wait()
        while True:
            code = status(node, "GET", "auth/token/lookup-self", token)
            with lock:
                statuses[code] += 1
            if code != 200:
                return

    workers = [
        threading.Thread(target=spend, args=(n % len(cluster.nodes),))
        for n in range(threads_per_node * len(cluster.nodes))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert set(statuses) == {200, 403}, statuses
    assert statuses[200] == uses


def test_after_a_keyring_rotation_on_one_node_every_node_reads_writes_and_works_on(
    cluster: Cluster,
) -> None:
    term = cluster.nodes[0].ok("GET", "sys/key-status")["data"]["term"]
    for n, writer, reader in cluster.pairs(len(cluster.nodes) * 2):
        writer.ok("PUT", "sys/rotate")
        term += 1
        assert reader.ok("GET", "sys/key-status")["data"]["term"] == term, f"round {n}"
        reader.ok("PUT", f"sys/policies/acl/after-rotation-{n}", json={"policy": ALLOW})
        for node in cluster.nodes:
            read = node.ok("GET", f"sys/policies/acl/after-rotation-{n}")
            assert read["data"]["policy"] == ALLOW
    # Background work goes on everywhere under the new term: every node's ticker writes its
    # next heartbeat (encrypted under the newest term) after the last rotation.
    rotated = datetime.now(UTC)

    def beaten_since() -> bool:
        nodes = cluster.nodes[0].ok("GET", "sys/ha-status")["data"]["nodes"]
        echoes = [datetime.fromisoformat(n["last_echo"].replace("Z", "+00:00")) for n in nodes]
        return len(echoes) == len(cluster.nodes) and min(echoes) > rotated

    wait_for(beaten_since, timeout=15, what="every node's heartbeat after the rotation")
    assert "could not decrypt" not in cluster.logs()
    assert "background tick" not in cluster.logs()


def test_an_audit_device_enabled_on_one_node_records_what_another_serves(
    cluster: Cluster, tmp_path: Path
) -> None:
    for n, writer, reader in cluster.pairs(len(cluster.nodes) * 2):
        log = tmp_path / f"audit-{n}.log"
        device = f"coherent-audit-{n}"
        writer.ok(
            "PUT", f"sys/audit/{device}", json={"type": "file", "options": {"file_path": str(log)}}
        )
        listed = reader.ok("GET", "sys/audit")["data"]
        assert f"{device}/" in listed, f"round {n}"
        marker = f"marker-{n}-enabled"
        assert status(reader, "GET", f"sys/policies/acl/{marker}", cluster.token) == 404
        assert marker in log.read_text(), f"round {n}: the request {reader} served is unaudited"
        writer.ok("DELETE", f"sys/audit/{device}")
        after = f"marker-{n}-disabled"
        assert status(reader, "GET", f"sys/policies/acl/{after}", cluster.token) == 404
        assert after not in log.read_text(), f"round {n}"
