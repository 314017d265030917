"""`sys/ha-status` and `sys/leader`: every node on one storage, as each of them sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.core_harness import (
    ENGINE_TYPE,
    Harness,
    make_harness,
    recording_factory,
    rule,
)

from awsbroker import __version__
from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.nodes import DEAD_AFTER
from awsbroker.core.system.backend import SystemBackend
from awsbroker.core.system.path_ha import ZERO_TIME
from awsbroker.sdk.clock import rfc3339
from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.logical import JSONObject, Operation, Request

R = Operation.READ
A = CoreConfig(api_addr="https://a.example:8200", cluster_addr="https://a.example:8201")


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = make_harness(base=A)
    yield harness
    harness.close()


def second_node(h: Harness, api_addr: str) -> Core:
    """Another core on the same storage, unsealed with the same key: a second node."""
    config = CoreConfig(clock=h.clock, api_addr=api_addr)
    engines = {ENGINE_TYPE: recording_factory([])}
    core = Core(h.physical, engines, config, system_backend=SystemBackend)
    core.submit_unseal_key(h.key)
    return core


def nodes(h: Harness, token: str | None = None) -> list[Any]:
    response = h.ok(R, "sys/ha-status", token=token)
    assert response.inject_top_level, "Vault copies `nodes` to the top level"
    assert response.data is not None
    listed = response.data["nodes"]
    assert isinstance(listed, list)
    return listed


def test_every_live_node_is_listed_as_it_describes_itself(h: Harness) -> None:
    unsealed_at = rfc3339(h.clock.now())
    h.clock.advance(1.5)
    b = second_node(h, "http://b.example:8200")
    listed = nodes(h)
    assert [n["api_address"] for n in listed] == ["http://b.example:8200", A.api_addr]
    assert listed[1] == {
        "hostname": h.core.nodes.hostname,
        "api_address": A.api_addr,
        "cluster_address": A.cluster_addr,
        "active_node": True,
        "last_echo": unsealed_at,
        "version": __version__,
    }
    assert listed[0]["cluster_address"] == ""
    assert listed[0]["last_echo"] == rfc3339(h.clock.now()) == "2023-11-14T22:13:21.500000Z"
    from_b = b.handle(Request(R, "sys/ha-status", client_token=h.root))
    assert from_b is not None
    assert from_b.data == {"nodes": listed}


def test_a_silent_node_leaves_the_list_once_dead(h: Harness) -> None:
    second_node(h, "http://b.example:8200")
    h.clock.advance(DEAD_AFTER - 1)
    h.core.tick()  # only the first node beats
    assert len(nodes(h)) == 2
    h.clock.advance(1)
    assert [n["api_address"] for n in nodes(h)] == [A.api_addr]


def test_a_sealed_node_stops_beating_and_leaves_the_list(h: Harness) -> None:
    b = second_node(h, "http://b.example:8200")
    h.clock.advance(DEAD_AFTER - 1)
    b.tick()
    b.seal_vault()
    h.clock.advance(DEAD_AFTER - 1)
    b.tick()
    h.core.tick()
    assert len(nodes(h)) == 2
    h.clock.advance(1)
    b.tick()
    assert [n["api_address"] for n in nodes(h)] == [A.api_addr]


def test_it_needs_a_token_that_may_read_it_and_no_sudo(h: Harness) -> None:
    h.policy("ha-reader", rule("sys/ha-status", "read"))
    assert len(nodes(h, h.token({"policies": ["ha-reader"]}))) == 1
    for token in ("", h.token({"policies": ["default"]})):
        with pytest.raises(PermissionDenied):
            h.call(R, "sys/ha-status", token=token)


def leader(h: Harness) -> JSONObject:
    response = h.ok(R, "sys/leader", token="")  # unauthenticated
    assert response.raw is not None
    return response.raw


def test_leader_is_the_node_itself_since_it_unsealed(h: Harness) -> None:
    unsealed_at = h.clock.now()
    h.clock.advance(60)
    assert leader(h) == {
        "ha_enabled": False,  # in memory: nothing to share
        "is_self": True,
        "active_time": rfc3339(unsealed_at),
        "leader_address": A.api_addr,
        "leader_cluster_address": A.cluster_addr,
        "performance_standby": False,
        "performance_standby_last_remote_wal": 0,
    }
    h.clock.advance(1)
    h.reseal()
    assert leader(h)["active_time"] == rfc3339(h.clock.now())


def test_leader_of_a_sealed_node_is_nobody(h: Harness) -> None:
    h.core.seal_vault()
    answer = leader(h)
    assert (answer["is_self"], answer["active_time"]) == (False, ZERO_TIME)
    assert (answer["leader_address"], answer["leader_cluster_address"]) == ("", "")


@pytest.mark.parametrize("storage", ["sqlite", "postgresql"])
def test_ha_is_enabled_on_storage_several_nodes_can_share(storage: str) -> None:
    harness = make_harness(base=CoreConfig(storage_type=storage))
    try:
        assert leader(harness)["ha_enabled"] is True
    finally:
        harness.close()


def test_the_openapi_document_describes_it_as_authenticated(h: Harness) -> None:
    doc = h.ok(R, "sys/internal/specs/openapi").raw
    assert doc is not None
    entry: Any = doc["paths"]
    assert "get" in entry["/sys/ha-status"]
    assert "security" not in entry["/sys/ha-status"]["get"]
    assert "x-vault-sudo" not in entry["/sys/ha-status"]
    assert entry["/sys/leader"]["get"]["security"] == []
