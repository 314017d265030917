"""The storage format: refusals by a build too old for it, and upgrades with an injected step
table (format 1 to 2), run once and only when every live node understands the new format."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable

import pytest

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.nodes import DEAD_AFTER
from awsbroker.core.system.backend import SystemBackend
from awsbroker.core.upgrade import FORMAT_PATH, STEPS, FormatRecord, Steps, latest
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InternalError, StorageTooNew
from awsbroker.sdk.logical import Operation, Request
from awsbroker.sdk.storage import Storage

BEAT = DEAD_AFTER / 6  # the default heartbeat period, when the format is looked at again
TOO_NEW = "the storage has format 2, newer than this build of awsbroker understands (1)"
TOO_NEW_RE = re.escape(TOO_NEW)


class Step:
    """A step from format 1 that counts its runs and marks the storage it upgraded."""

    def __init__(self, then: Callable[[], None] = lambda: None, fail: int = 0) -> None:
        self.runs = 0
        self._then = then
        self._fail = fail

    def __call__(self, storage: Storage) -> None:
        self.runs += 1
        if self._fail:
            self._fail -= 1
            raise RuntimeError("step failed")
        storage.put("upgraded", b"yes")
        self._then()


class Cluster:
    """Nodes (cores) on one in-memory storage and one clock, unsealed with the same key."""

    def __init__(self) -> None:
        self.physical = InmemStorage()
        self.clock = ManualClock()
        self.key = b""

    def node(self, steps: Steps = STEPS, api: str = "") -> Core:
        config = CoreConfig(clock=self.clock, api_addr=api, upgrade_steps=steps)
        core = Core(self.physical, {}, config, system_backend=SystemBackend)
        if not self.key:
            keys, _ = core.initialize(1, 1)
            self.key = keys[0]
        core.submit_unseal_key(self.key)
        return core

    def stored(self) -> object:
        blob = self.physical.get(FORMAT_PATH)
        return None if blob is None else json.loads(blob)

    def beat(self, *nodes: Core) -> None:
        """One heartbeat period passes, and these nodes tick (beat, and look at the format)."""
        self.clock.advance(BEAT)
        for node in nodes:
            node.tick()


def test_latest_is_one_past_the_last_step_and_the_table_has_no_gap() -> None:
    assert latest({}) == latest(STEPS) == 1
    assert latest({1: Step(), 2: Step()}) == 3
    with pytest.raises(ValueError, match="without a gap"):
        latest({2: Step()})


def test_no_record_means_format_one_and_it_is_written() -> None:
    physical = InmemStorage()
    core = Core(physical, {}, CoreConfig(clock=ManualClock()))
    assert physical.get(FORMAT_PATH) is None
    assert core.storage_format.check() == FormatRecord(1)
    assert physical.get(FORMAT_PATH) == b'{"version":1}'


@pytest.mark.parametrize(
    "stored",
    [
        {"version": 2},
        {"version": 1, "upgrading": {"to": 2, "by": "a-node-upgrading-now"}},
    ],
)
def test_a_format_too_new_refuses_unseal_before_a_share_counts(stored: object) -> None:
    cluster = Cluster()
    core = cluster.node()
    core.seal_vault()
    cluster.physical.put(FORMAT_PATH, json.dumps(stored).encode())
    with pytest.raises(StorageTooNew, match=TOO_NEW_RE + ": upgrade this node$") as refused:
        core.handle(Request(Operation.UPDATE, "sys/unseal", {"key": cluster.key.hex()}))
    assert isinstance(refused.value, InternalError)  # a 500 with that message
    assert core.sealed
    assert core.seal_status().progress == 0


@pytest.mark.parametrize("blob", [b"[]", b'{"version": "one"}', b'{"version": 0}', b"{"])
def test_a_malformed_record_is_an_internal_error(blob: bytes) -> None:
    physical = InmemStorage()
    physical.put(FORMAT_PATH, blob)
    core = Core(physical, {}, CoreConfig(clock=ManualClock()))
    with pytest.raises(InternalError):
        core.storage_format.check()


class FormatMovesAtHeartbeat(InmemStorage):
    """A storage where another node upgrades the format just as this one's heartbeat lands."""

    armed = False

    def put(self, key: str, value: bytes) -> None:
        super().put(key, value)
        if self.armed and key.startswith("sys/nodes/"):
            super().put(FORMAT_PATH, b'{"version":2}')


def test_an_unseal_that_crosses_an_upgrade_seals_again() -> None:
    physical = FormatMovesAtHeartbeat()
    core = Core(physical, {}, CoreConfig(clock=ManualClock()), system_backend=SystemBackend)
    keys, _ = core.initialize(1, 1)
    physical.armed = True
    with pytest.raises(StorageTooNew, match=TOO_NEW_RE):
        core.submit_unseal_key(keys[0])  # passes the first check; the second one fails
    assert core.sealed


def test_a_running_node_seals_itself_when_the_format_moves_past_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster = Cluster()
    core = cluster.node()
    core.tick()
    cluster.physical.put(FORMAT_PATH, b'{"version":2}')
    core.tick()  # looked at the format a moment ago: not again before the next heartbeat
    assert not core.sealed
    cluster.beat(core)
    assert core.sealed
    assert f"{TOO_NEW}: upgrade this node; sealing this node" in caplog.text


def test_the_format_moves_only_once_every_live_node_understands_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "awsbroker.core.upgrade")
    cluster = Cluster()
    step = Step()
    old = cluster.node(api="http://old:8200")
    new = cluster.node({1: step}, api="http://new:8200")
    heartbeats = {n.api_address: n.storage_format for n in new.nodes.live()}
    assert heartbeats == {"http://old:8200": 1, "http://new:8200": 2}
    for _ in range(3):
        cluster.beat(old, new)
    assert (step.runs, cluster.stored(), new.storage_format.current) == (0, {"version": 1}, 1)
    waiting = [r.message for r in caplog.records if "waiting for" in r.message]
    assert waiting == [
        "storage stays below format 2, the newest this build understands, until every live "
        "node understands it: waiting for http://old:8200 (format 1)"
    ]

    cluster.clock.advance(DEAD_AFTER)  # the old node stopped: it is dead now
    changes = cluster.physical.change_count()
    new.tick()
    assert (step.runs, cluster.stored(), new.storage_format.current) == (1, {"version": 2}, 2)
    assert cluster.physical.change_count() > changes, "every node must load its views again"
    assert new.barrier.get("upgraded") == b"yes"
    assert "storage format upgraded from 1 to 2" in caplog.text
    cluster.beat(new)
    assert step.runs == 1
    cluster.beat(old)  # had it still been running, it would stop serving now
    assert old.sealed
    with pytest.raises(StorageTooNew):
        old.submit_unseal_key(cluster.key)


def test_two_nodes_upgrading_at_once_run_the_step_once() -> None:
    cluster = Cluster()
    nodes: list[Core] = []

    def second_tries() -> None:  # while the first node runs the step: it finds the claim
        nodes[1].storage_format.tick()

    step = Step(then=second_tries)
    nodes += [cluster.node({1: step}), cluster.node({1: step})]
    cluster.beat(nodes[0])
    assert (step.runs, cluster.stored()) == (1, {"version": 2})
    cluster.beat(nodes[1])
    assert step.runs == 1


class ReadHook(InmemStorage):
    """A storage that runs `hook` once, right after the next read of `core/format`."""

    hook: Callable[[], None] | None = None

    def get(self, key: str) -> bytes | None:
        value = super().get(key)
        if key == FORMAT_PATH and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return value


def test_a_node_that_read_the_format_before_another_upgraded_it_does_not_run_again() -> None:
    physical = ReadHook()
    cluster = Cluster()
    cluster.physical = physical
    step = Step()
    first, second = cluster.node({1: step}), cluster.node({1: step})
    cluster.clock.advance(BEAT)
    # The first node reads format 1; the second upgrades before the first claims.
    physical.hook = second.storage_format.tick
    first.storage_format.tick()
    assert (step.runs, cluster.stored()) == (1, {"version": 2})


def test_two_threads_upgrading_at_once_run_the_step_once() -> None:
    cluster = Cluster()
    step = Step()
    nodes = [cluster.node({1: step}) for _ in range(4)]
    cluster.clock.advance(BEAT)
    start = threading.Barrier(len(nodes))

    def tick(node: Core) -> None:
        start.wait()
        node.storage_format.tick()

    threads = [threading.Thread(target=tick, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (step.runs, cluster.stored()) == (1, {"version": 2})


class LateNode(InmemStorage):
    """A storage where a node of an older build beats just after an upgrade is claimed."""

    beat: Callable[[], None] = staticmethod(lambda: None)

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        changed = super().compare_and_set(key, expected, value)
        if changed and key == FORMAT_PATH and value is not None and b"upgrading" in value:
            self.beat()
        return changed


def test_a_claim_is_given_back_when_an_older_node_appears_meanwhile() -> None:
    physical = LateNode()
    cluster = Cluster()
    cluster.physical = physical
    step = Step()
    new = cluster.node({1: step})
    late = {"seen": cluster.clock.now() + BEAT}  # an older build's heartbeat: format 1
    physical.beat = lambda: new.barrier.put("sys/nodes/late-boot", json.dumps(late).encode())
    cluster.beat(new)
    assert (step.runs, cluster.stored()) == (0, {"version": 1})


def test_a_dead_nodes_claim_is_taken_over_where_it_stopped() -> None:
    cluster = Cluster()
    first, second = Step(), Step()
    cluster.physical.put(FORMAT_PATH, b'{"upgrading":{"by":"dead-boot","to":3},"version":2}')
    node = cluster.node({1: first, 2: second})
    cluster.beat(node)
    assert (first.runs, second.runs, cluster.stored()) == (0, 1, {"version": 3})


def test_a_failed_step_keeps_the_claim_and_is_run_again(caplog: pytest.LogCaptureFixture) -> None:
    cluster = Cluster()
    step = Step(fail=1)
    node = cluster.node({1: step})
    cluster.beat(node)
    assert "storage format upgrade failed; retrying at the next heartbeat" in caplog.text
    by = node.nodes.boot_id
    assert cluster.stored() == {"version": 1, "upgrading": {"to": 2, "by": by}}
    cluster.beat(node)
    assert (step.runs, cluster.stored()) == (2, {"version": 2})


def test_a_node_of_a_build_from_before_the_format_holds_it_at_one() -> None:
    cluster = Cluster()
    step = Step()
    new = cluster.node({1: step})
    old_build = {"seen": cluster.clock.now() + BEAT}  # what its heartbeat says: nothing more
    new.barrier.put("sys/nodes/old-build", json.dumps(old_build).encode())
    cluster.beat(new)
    assert (step.runs, cluster.stored()) == (0, {"version": 1})
