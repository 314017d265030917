"""The in-memory expiry index: two heaps with lazy deletion, compacted when stale items pile up."""

from __future__ import annotations

import threading

from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.expiry import KIND_LEASE


def _heap_items(s: InmemStorage) -> int:
    return len(s._ready) + len(s._held)


def test_claim_pops_only_what_is_due() -> None:
    s = InmemStorage()
    for i in range(10_000):
        s.schedule(f"later/{i}", KIND_LEASE, 1000.0 + i)
    for i in range(3):
        s.schedule(f"due/{i}", KIND_LEASE, float(i))
    assert [e.key for e in s.claim(10.0, 100, 60.0)] == ["due/0", "due/1", "due/2"]
    assert len(s._ready) == 10_000  # the future entries were never popped
    assert len(s._held) == 3


def test_rescheduling_leaves_stale_items_that_claim_skips() -> None:
    s = InmemStorage()
    s.schedule("a", KIND_LEASE, 1.0)
    s.schedule("a", KIND_LEASE, 2.0, attempts=1)
    s.schedule("b", KIND_LEASE, 1.5)
    s.unschedule("b")
    assert _heap_items(s) == 3
    claimed = s.claim(10.0, 10, 60.0)
    assert [(e.key, e.expire_at, e.attempts) for e in claimed] == [("a", 2.0, 1)]
    assert _heap_items(s) == 1


def test_stale_items_are_compacted_away() -> None:
    s = InmemStorage()
    s.schedule("other", KIND_LEASE, 5.0)
    assert [e.key for e in s.claim(5.0, 1, 60.0)] == ["other"]  # held until 65
    for i in range(10_000):
        s.schedule("renewed", KIND_LEASE, 100.0 + i)
    assert _heap_items(s) <= 2 * 2 + 64 + 1
    assert s.claim(64.0, 10, 60.0) == []
    assert [e.key for e in s.claim(65.0, 10, 60.0)] == ["other"]  # the claim survived
    claimed = [(e.key, e.expire_at) for e in s.claim(1e6, 10, 60.0)]
    assert claimed == [("other", 5.0), ("renewed", 10_099.0)]


def test_unscheduling_everything_compacts_the_heaps() -> None:
    s = InmemStorage()
    for i in range(1000):
        s.schedule(f"k{i}", KIND_LEASE, float(i))
    for i in range(1000):
        s.unschedule(f"k{i}")
    assert _heap_items(s) <= 64
    assert s.claim(1e6, 10, 60.0) == []


def test_a_claim_is_honoured_when_now_goes_backwards() -> None:
    s = InmemStorage()
    s.schedule("a", KIND_LEASE, 10.0)
    s.schedule("b", KIND_LEASE, 20.0)
    assert [e.key for e in s.claim(100.0, 1, 10.0)] == ["a"]  # a held until 110
    assert s.claim(120.0, 0, 10.0) == []  # a's claim ran out: a moves back to the ready heap
    assert [e.key for e in s.claim(105.0, 10, 10.0)] == ["b"]  # at 105, a is still held
    assert [e.key for e in s.claim(110.0, 10, 10.0)] == ["a"]


def test_claims_from_threads_are_disjoint() -> None:
    s = InmemStorage()
    for i in range(500):
        s.schedule(f"k{i:03}", KIND_LEASE, float(i))
    got: list[list[str]] = [[] for _ in range(8)]

    def work(n: int) -> None:
        while batch := s.claim(1000.0, 7, 3600.0):
            got[n].extend(e.key for e in batch)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k for keys in got for k in keys) == [f"k{i:03}" for i in range(500)]
