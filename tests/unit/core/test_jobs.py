"""Durable jobs: a backend schedules them through its `SystemView`, the expiry worker claims and
runs them (once, on one core of several sharing a store), reschedules them by their answer, and
retries failures with backoff without ever dropping them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.expiration import JOB_MOUNT_WAIT
from awsbroker.core.mounts import new_entry
from awsbroker.physical.inmem import InmemStorage
from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import UpstreamError
from awsbroker.sdk.expiry import KIND_JOB, PhysicalStore, job_key
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend, JobType, SystemView

MOUNT = "jobs/"


@dataclass
class Script:
    """What the jobs engine does when a job runs: answers in order, then None."""

    answers: list[float | Exception | None] = field(default_factory=list)
    runs: list[tuple[str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    during: Callable[[], None] = lambda: None


class JobsEngine(FrameworkBackend["JobsEngine"]):
    def __init__(self, config: BackendConfig, script: Script) -> None:
        super().__init__(self, [], jobs=[JobType("tick/", run_tick)])
        self.system: SystemView = config.system
        self.script = script


def run_tick(engine: JobsEngine, name: str) -> float | None:
    script = engine.script
    with script.lock:
        script.runs.append((name, engine.system.clock.now()))
        answer = script.answers.pop(0) if script.answers else None
    script.during()
    if isinstance(answer, Exception):
        raise answer
    return answer


@dataclass
class Node:
    core: Core
    engine: JobsEngine


UNSEAL_KEYS: dict[int, bytes] = {}


def start(physical: PhysicalStore, clock: ManualClock, script: Script, *, first: bool) -> Node:
    """A core on `physical` with the jobs engine at `jobs/`: the first initialises the store
    and mounts it, the others unseal with the same key."""
    made: list[JobsEngine] = []

    def factory(config: BackendConfig) -> JobsEngine:
        made.append(JobsEngine(config, script))
        return made[-1]

    core = Core(physical, {"jobs": factory}, CoreConfig(clock=clock))
    if first:
        keys, _ = core.initialize(1, 1)
        UNSEAL_KEYS[id(clock)] = keys[0]
        core.submit_unseal_key(keys[0])
        core.enable_mount(new_entry(MOUNT, "jobs"))
    else:
        core.submit_unseal_key(UNSEAL_KEYS[id(clock)])
    return Node(core, made[-1])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def node(clock: ManualClock, script: Script) -> Iterator[Node]:
    n = start(InmemStorage(), clock, script, first=True)
    yield n
    n.core.close()


def test_a_job_runs_at_its_time_and_is_rescheduled_by_its_answer(
    node: Node, clock: ManualClock, script: Script
) -> None:
    start_at = clock.now()
    node.engine.system.schedule_job("tick/a", start_at + 100)
    script.answers = [start_at + 300, None]
    node.core.tick()
    clock.advance(99)
    node.core.tick()
    assert script.runs == []
    clock.advance(1)
    node.core.tick()
    assert script.runs == [("a", start_at + 100)]
    node.core.tick()  # rescheduled for +300, not run again
    assert len(script.runs) == 1
    clock.advance(200)
    node.core.tick()
    assert script.runs[-1] == ("a", start_at + 300)
    clock.advance(10_000)
    node.core.tick()  # the answer None dropped it
    assert len(script.runs) == 2
    assert node.core.physical.count(kind=KIND_JOB) == 0


def test_cancel_and_replace(node: Node, clock: ManualClock, script: Script) -> None:
    system = node.engine.system
    system.schedule_job("tick/a", clock.now() + 10)
    system.schedule_job("tick/a", clock.now() + 50)  # replaces
    system.schedule_job("tick/b", clock.now() + 10)
    system.cancel_job("tick/b")
    system.cancel_job("tick/missing")
    clock.advance(10)
    node.core.tick()
    assert script.runs == []
    clock.advance(40)
    node.core.tick()
    assert script.runs == [("a", clock.now())]


def test_failures_back_off_and_are_never_dropped(
    node: Node, clock: ManualClock, script: Script
) -> None:
    node.engine.system.schedule_job("tick/a", clock.now())
    script.answers = [UpstreamError("AWS down")] * 8 + [None]
    delays = []
    for _ in range(9):
        before = clock.now()
        node.core.tick()
        entry = _entry(node.core.physical, "tick/a")
        if entry is None:
            break
        delays.append(entry - before)
        clock.advance(entry - before)
    assert delays == [10, 20, 40, 80, 160, 320, 600, 600]
    assert len(script.runs) == 9
    assert _entry(node.core.physical, "tick/a") is None  # succeeded, answered None


def test_unknown_job_names_are_dropped(node: Node, clock: ManualClock, script: Script) -> None:
    node.engine.system.schedule_job("other/x", clock.now())
    node.core.tick()
    assert script.runs == []
    assert node.core.physical.count(kind=KIND_JOB) == 0


def test_job_of_a_removed_mount_is_dropped(node: Node, clock: ManualClock) -> None:
    node.engine.system.schedule_job("tick/a", clock.now() + 5)
    node.core.disable_mount(MOUNT)
    clock.advance(5)
    node.core.tick()
    assert node.core.physical.count(kind=KIND_JOB) == 0


def test_job_of_a_mount_another_node_made_waits(
    node: Node, clock: ManualClock, script: Script
) -> None:
    late = start(node.core.physical, clock, script, first=False)  # unsealed before the mount
    try:
        late.core.router.unmount(MOUNT)  # as if it had been unsealed before the mount was made
        node.engine.system.schedule_job("tick/a", clock.now())
        late.core.tick()
        assert script.runs == []
        assert _entry(node.core.physical, "tick/a") == clock.now() + JOB_MOUNT_WAIT
    finally:
        late.core.close()


def test_two_nodes_run_a_due_job_once(clock: ManualClock, script: Script) -> None:
    physical = InmemStorage()
    first = start(physical, clock, script, first=True)
    second = start(physical, clock, script, first=False)
    try:
        for i in range(20):
            first.engine.system.schedule_job(f"tick/{i}", clock.now() + 30)
        clock.advance(30)
        _tick_together([first, second])
        assert sorted(name for name, _ in script.runs) == sorted(str(i) for i in range(20))
    finally:
        first.core.close()
        second.core.close()


@pytest.mark.postgres
def test_two_nodes_on_postgresql_run_a_due_job_once(
    pg_dsn: str, pg_table: str, clock: ManualClock
) -> None:
    barrier = threading.Barrier(2, timeout=10)
    script = Script()
    stores = [PostgreSQLStorage(pg_dsn, pg_table), PostgreSQLStorage(pg_dsn, pg_table)]
    first = start(stores[0], clock, script, first=True)
    second = start(stores[1], clock, script, first=False)
    try:
        for i in range(10):
            first.engine.system.schedule_job(f"tick/{i}", clock.now() + 30)
        clock.advance(30)
        # Both nodes claim in the same instant, and a run takes a while (a rotation would).
        script.during = lambda: time.sleep(0.02)
        _tick_together([first, second], barrier)
        assert sorted(name for name, _ in script.runs) == sorted(str(i) for i in range(10))
    finally:
        first.core.close()
        second.core.close()
        for store in stores:
            store.close()


def _tick_together(nodes: list[Node], barrier: threading.Barrier | None = None) -> None:
    barrier = barrier or threading.Barrier(len(nodes), timeout=10)
    errors: list[BaseException] = []

    def work(n: Node) -> None:
        try:
            barrier.wait()
            while n.core.tick():
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors


def _entry(physical: PhysicalStore, name: str) -> float | None:
    """The scheduled time of the job, from the index (claiming far ahead, then releasing)."""
    key = job_key(MOUNT, name)
    for due in physical.claim(float("inf"), 1000, 0):
        physical.schedule(due.key, due.kind, due.expire_at, mount=due.mount, attempts=due.attempts)
        if due.key == key:
            return due.expire_at
    return None
