"""The change counter's reads: every request gets a read that began after it arrived, and
requests that queue behind one read share the next."""

from __future__ import annotations

import threading
import time

from awsbroker.core.changes import ChangeCounter
from awsbroker.sdk.errors import StorageUnavailable


class GatedCount:
    """A change count whose reads block until the test lets them through, one at a time."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.entered = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)
        self.fail = False

    def change_count(self) -> int:
        self.reads += 1
        value = self.value  # what the store holds when the read begins
        self.entered.release()
        self.gate.acquire()
        if self.fail:
            raise StorageUnavailable()
        return value

    def count_change(self) -> int:
        self.value += 1
        return self.value


def _start(counter: ChangeCounter, results: list[object]) -> threading.Thread:
    def read() -> None:
        try:
            results.append(counter.read())
        except StorageUnavailable as exc:
            results.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def _wait_queued(threads: int) -> None:
    time.sleep(0.05 * threads)  # let them reach the lock; only ever makes the test stricter


def test_each_sequential_read_reads_the_store() -> None:
    physical = GatedCount()
    counter = ChangeCounter(physical)
    physical.gate.release(3)
    assert [counter.read() for _ in range(3)] == [0, 0, 0]
    assert physical.reads == 3


def test_a_read_already_under_way_is_not_taken_by_a_request_that_arrives_during_it() -> None:
    physical = GatedCount()
    counter = ChangeCounter(physical)
    first: list[object] = []
    second: list[object] = []
    a = _start(counter, first)
    physical.entered.acquire()  # a's read is under way, and has read the old count
    physical.count_change()  # a change is counted (and answered) ...
    b = _start(counter, second)  # ... before this request arrives
    _wait_queued(1)
    physical.gate.release()
    a.join()
    physical.entered.acquire()  # b reads again: a's read may have missed the change
    physical.gate.release()
    b.join()
    assert first == [0]
    assert second == [1]
    assert physical.reads == 2


def test_requests_queued_behind_one_read_share_the_next() -> None:
    physical = GatedCount()
    counter = ChangeCounter(physical)
    results: list[object] = []
    first = _start(counter, results)
    physical.entered.acquire()
    waiting = [_start(counter, results) for _ in range(4)]
    _wait_queued(4)
    physical.gate.release()  # the first read ends; one waiter reads for all four
    physical.entered.acquire()
    physical.gate.release()
    for thread in [first, *waiting]:
        thread.join()
    assert physical.reads == 2
    assert len(results) == 5


def test_a_failed_read_fails_every_request_waiting_for_it_each_with_its_own_error() -> None:
    physical = GatedCount()
    counter = ChangeCounter(physical)
    results: list[object] = []
    first = _start(counter, results)
    physical.entered.acquire()
    waiting = [_start(counter, results) for _ in range(3)]
    _wait_queued(3)
    physical.gate.release()
    physical.entered.acquire()
    physical.fail = True
    physical.gate.release()
    for thread in [first, *waiting]:
        thread.join()
    errors = [r for r in results if isinstance(r, StorageUnavailable)]
    assert len(errors) == 3
    assert len({id(e) for e in errors}) == 3
    assert physical.reads == 2
    physical.fail = False
    physical.gate.release()
    assert counter.read() == 0, "the next request reads again"


def test_bump_counts_in_the_store() -> None:
    physical = GatedCount()
    counter = ChangeCounter(physical)
    assert counter.bump() == 1
    physical.gate.release()
    assert counter.read() == 1
