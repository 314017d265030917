"""The heartbeat registry: what a node's record says, who is live, and when a node is dead."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field

from awsbroker import __version__
from awsbroker.core.nodes import DEAD_AFTER, FORGET_AFTER, NodeRegistry
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import Clock, ManualClock


@dataclass(frozen=True)
class Config:
    clock: Clock = field(default_factory=ManualClock)
    api_addr: str = ""
    cluster_addr: str = ""
    node_dead_after: float | None = None


def registry(
    storage: InmemStorage, clock: ManualClock, api: str = "", dead_after: float | None = None
) -> NodeRegistry:
    return NodeRegistry(storage, Config(clock, api, f"{api}-cluster" if api else "", dead_after))


def test_the_heartbeat_says_who_the_node_is() -> None:
    storage, clock = InmemStorage(), ManualClock()
    node = registry(storage, clock, "https://a:8200")
    node.storage_format = 3
    node.heartbeat()
    blob = storage.get(node.boot_id)
    assert blob is not None
    assert json.loads(blob) == {
        "seen": clock.now(),  # the key older builds read their time from
        "hostname": socket.gethostname(),
        "api_address": "https://a:8200",
        "cluster_address": "https://a:8200-cluster",
        "version": __version__,
        "storage_format": 3,
    }
    [live] = node.live()
    assert (live.boot_id, live.seen, live.api_address) == (
        node.boot_id,
        clock.now(),
        "https://a:8200",
    )
    assert (live.hostname, live.version, live.storage_format) == (
        socket.gethostname(),
        __version__,
        3,
    )


def test_an_older_builds_heartbeat_reads_as_format_one() -> None:
    storage, clock = InmemStorage(), ManualClock()
    storage.put("old-boot", json.dumps({"seen": clock.now()}).encode())
    node = registry(storage, clock)
    assert node.alive("old-boot")
    [old] = node.live()
    assert (old.boot_id, old.storage_format, old.api_address, old.version) == (
        "old-boot",
        1,
        "",
        "",
    )


def test_live_nodes_are_fresh_ones_by_api_address_then_boot_id() -> None:
    storage, clock = InmemStorage(), ManualClock()
    b = registry(storage, clock, "https://b:8200")
    a1 = registry(storage, clock, "https://a:8200")
    a2 = registry(storage, clock, "https://a:8200")
    gone = registry(storage, clock, "https://0:8200")
    gone.heartbeat()
    clock.advance(DEAD_AFTER - 1)
    for node in (b, a1, a2):
        node.heartbeat()
    clock.advance(1)  # `gone` has been silent for DEAD_AFTER seconds now
    expected = [*sorted([a1.boot_id, a2.boot_id]), b.boot_id]
    assert [n.boot_id for n in b.live()] == expected
    assert not b.alive(gone.boot_id)
    assert b.alive(a1.boot_id)
    assert not b.alive("")
    assert not b.alive("never-seen")


def test_a_node_beats_six_times_per_dead_after_and_dies_after_it() -> None:
    storage, clock = InmemStorage(), ManualClock()
    assert registry(storage, clock).heartbeat_every == DEAD_AFTER / 6 == 5.0
    quick = registry(storage, clock, dead_after=3.0)
    other = registry(storage, clock, dead_after=3.0)
    assert quick.heartbeat_every == 0.5
    quick.heartbeat()
    first = quick.live()[0].seen
    clock.advance(0.4)
    quick.heartbeat()
    assert quick.live()[0].seen == first  # not due yet
    clock.advance(0.1)
    quick.heartbeat()
    assert quick.live()[0].seen == clock.now()
    clock.advance(2.9)
    assert other.alive(quick.boot_id)
    clock.advance(0.1)
    assert not other.alive(quick.boot_id)
    assert other.live() == []
    assert quick.alive(quick.boot_id)  # a node is never dead to itself


def test_forced_heartbeat_marks_when_the_node_became_active() -> None:
    storage, clock = InmemStorage(), ManualClock()
    node = registry(storage, clock)
    assert node.active_since == 0.0
    node.heartbeat()
    assert node.active_since == 0.0
    clock.advance(1)
    node.heartbeat(force=True)  # what the core does at unseal
    assert node.active_since == clock.now()


def test_forget_dead_deletes_week_old_heartbeats_only() -> None:
    storage, clock = InmemStorage(), ManualClock()
    old, recent = registry(storage, clock), registry(storage, clock)
    old.heartbeat()
    clock.advance(FORGET_AFTER / 2)
    recent.heartbeat()
    clock.advance(FORGET_AFTER / 2 + 1)
    recent.forget_dead()
    assert storage.get(old.boot_id) is None
    assert storage.get(recent.boot_id) is not None
