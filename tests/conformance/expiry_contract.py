"""Checks every `ExpiryIndex` must pass. Each takes a fresh, empty index.

`CHECKS` lists the single-handle checks. `SHARED_CHECKS` take several handles on one index:
for a database, separate store objects (separate connections or pools), which is how
separate processes see it. `test_expiry_conformance.py` runs both against every backend.

Time is a parameter (`now`), so nothing here sleeps. Ties on `expire_at` break by key.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from awsbroker.sdk.expiry import KIND_LEASE, KIND_TOKEN, DueEntry, ExpiryIndex

Check = Callable[[ExpiryIndex], None]
SharedCheck = Callable[[Sequence[ExpiryIndex]], None]

HOUR = 3600.0


def _keys(entries: list[DueEntry]) -> list[str]:
    return [e.key for e in entries]


def empty_index_has_nothing(ix: ExpiryIndex) -> None:
    assert ix.count() == 0
    assert ix.count(kind=KIND_LEASE) == 0
    assert ix.count(irrevocable=True) == 0
    assert ix.count_by_mount(irrevocable=False) == {}
    assert ix.irrevocable_keys(10) == []
    assert ix.claim(1e12, 10, 60.0) == []
    ix.unschedule("never/was")
    assert ix.count() == 0


def schedule_unschedule_reschedule(ix: ExpiryIndex) -> None:
    ix.schedule("a", KIND_LEASE, 100.0, mount="aws/")
    ix.schedule("b", KIND_TOKEN, 200.0)
    assert ix.count() == 2
    ix.unschedule("a")
    ix.unschedule("a")
    assert ix.count() == 1
    ix.schedule("b", KIND_LEASE, 50.0, mount="aws2/", attempts=3, irrevocable=True)
    assert ix.count() == 1
    assert ix.claim(49.0, 10, 60.0) == []
    assert ix.claim(50.0, 10, 60.0) == [DueEntry("b", KIND_LEASE, "aws2/", 50.0, 3, True)]
    ix.unschedule("b")
    assert ix.count() == 0


def fields_round_trip(ix: ExpiryIndex) -> None:
    entries = [
        DueEntry("lease/aws/creds/r/AbC123", KIND_LEASE, "aws/", 1_700_000_000.125, 0, False),
        DueEntry("h" * 64, KIND_TOKEN, "", 1_700_000_000.5, 7, False),
        DueEntry("ключ/鍵/🔑", "other-kind", "ünïcode/", 1_700_000_001.0, 2, True),
    ]
    for e in entries:
        ix.schedule(
            e.key,
            e.kind,
            e.expire_at,
            mount=e.mount,
            attempts=e.attempts,
            irrevocable=e.irrevocable,
        )
    assert ix.claim(1_800_000_000.0, 10, 60.0) == entries


def claim_takes_only_due_earliest_first_up_to_limit(ix: ExpiryIndex) -> None:
    times = [100.0 + i for i in range(10)]
    shuffled = list(enumerate(times))
    random.Random(7).shuffle(shuffled)
    for i, at in shuffled:
        ix.schedule(f"k{i}", KIND_LEASE, at)
    ix.schedule("future", KIND_LEASE, 1e9)
    assert ix.claim(99.0, 10, 60.0) == []
    assert ix.claim(104.5, 0, 60.0) == []
    assert _keys(ix.claim(104.5, 3, 60.0)) == ["k0", "k1", "k2"]
    assert _keys(ix.claim(104.5, 3, 60.0)) == ["k3", "k4"]
    assert ix.claim(104.5, 3, 60.0) == []
    # An entry due exactly at `now` is due.
    assert _keys(ix.claim(106.0, 10, 60.0)) == ["k5", "k6"]
    assert _keys(ix.claim(109.0, 100, 60.0)) == ["k7", "k8", "k9"]
    assert ix.count() == 11


def ties_break_by_key(ix: ExpiryIndex) -> None:
    for key in ("m", "c", "z", "a", "q"):
        ix.schedule(key, KIND_LEASE, 10.0)
    ix.schedule("early", KIND_LEASE, 9.0)
    assert _keys(ix.claim(10.0, 4, 60.0)) == ["early", "a", "c", "m"]
    assert _keys(ix.claim(10.0, 4, 60.0)) == ["q", "z"]


def claim_holds_until_it_runs_out(ix: ExpiryIndex) -> None:
    ix.schedule("a", KIND_LEASE, 10.0)
    ix.schedule("b", KIND_LEASE, 20.0)
    assert _keys(ix.claim(15.0, 10, 30.0)) == ["a"]  # held until 45
    assert _keys(ix.claim(25.0, 10, 30.0)) == ["b"]  # held until 55
    assert ix.claim(44.0, 10, 30.0) == []
    ix.schedule("c", KIND_LEASE, 30.0)
    assert _keys(ix.claim(44.0, 10, 30.0)) == ["c"]  # unclaimed, due: taken past the held ones
    assert _keys(ix.claim(45.0, 10, 100.0)) == ["a"]  # a's claim ran out at 45
    assert _keys(ix.claim(60.0, 10, 100.0)) == ["b"]  # c is held until 74
    assert _keys(ix.claim(1000.0, 10, 100.0)) == ["a", "b", "c"]
    assert ix.count() == 3


def a_claim_counts_from_its_own_now(ix: ExpiryIndex) -> None:
    ix.schedule("a", KIND_LEASE, 10.0)
    assert _keys(ix.claim(500.0, 1, 5.0)) == ["a"]
    assert ix.claim(504.0, 1, 5.0) == []
    assert _keys(ix.claim(505.0, 1, 5.0)) == ["a"]


def rescheduling_drops_the_claim(ix: ExpiryIndex) -> None:
    ix.schedule("a", KIND_LEASE, 10.0)
    ix.schedule("b", KIND_LEASE, 11.0)
    assert _keys(ix.claim(20.0, 10, HOUR)) == ["a", "b"]
    ix.schedule("a", KIND_LEASE, 10.0, attempts=1)
    assert ix.claim(20.0, 10, HOUR) == [DueEntry("a", KIND_LEASE, "", 10.0, 1, False)]
    ix.schedule("b", KIND_LEASE, 100.0, attempts=1)  # a retry, backed off
    assert ix.claim(99.0, 10, HOUR) == []
    assert _keys(ix.claim(100.0, 10, HOUR)) == ["b"]


def unscheduling_a_claimed_entry(ix: ExpiryIndex) -> None:
    ix.schedule("a", KIND_LEASE, 10.0)
    ix.schedule("b", KIND_LEASE, 10.0)
    assert _keys(ix.claim(10.0, 10, 60.0)) == ["a", "b"]
    ix.unschedule("a")
    assert ix.count() == 1
    assert _keys(ix.claim(1000.0, 10, 60.0)) == ["b"]
    ix.unschedule("b")
    assert ix.claim(1e6, 10, 60.0) == []
    ix.schedule("a", KIND_LEASE, 10.0)  # back again, unclaimed
    assert _keys(ix.claim(10.0, 10, 60.0)) == ["a"]


def counts_and_filters(ix: ExpiryIndex) -> None:
    for i in range(5):
        ix.schedule(f"l{i}", KIND_LEASE, 10.0 + i, mount="aws/")
    for i in range(3):
        ix.schedule(f"m{i}", KIND_LEASE, 10.0 + i, mount="aws-prod/")
    for i in range(2):
        ix.schedule(f"i{i}", KIND_LEASE, 10.0 + i, mount="aws-prod/", irrevocable=True)
    ix.schedule("i2", KIND_LEASE, 5.0, mount="aws/", irrevocable=True)
    for i in range(4):
        ix.schedule(f"t{i}", KIND_TOKEN, 10.0 + i)
    ix.schedule("t-odd", KIND_TOKEN, 1.0, irrevocable=True)
    assert ix.count() == 16
    assert ix.count(kind=KIND_LEASE) == 11
    assert ix.count(kind=KIND_TOKEN) == 5
    assert ix.count(kind="nothing") == 0
    assert ix.count(irrevocable=True) == 4
    assert ix.count(irrevocable=False) == 12
    assert ix.count(kind=KIND_LEASE, irrevocable=True) == 3
    assert ix.count(kind=KIND_TOKEN, irrevocable=False) == 4
    assert ix.count_by_mount(irrevocable=False) == {"aws/": 5, "aws-prod/": 3, "": 4}
    assert ix.count_by_mount(irrevocable=True) == {"aws-prod/": 2, "aws/": 1, "": 1}
    assert len(ix.claim(100.0, 100, 60.0)) == 16  # claims change no count
    assert ix.count() == 16
    assert ix.count(irrevocable=True) == 4
    ix.schedule("i0", KIND_LEASE, 10.0, mount="aws-prod/")  # revocable after all
    ix.unschedule("l0")
    assert ix.count(irrevocable=True) == 3
    assert ix.count_by_mount(irrevocable=False) == {"aws/": 4, "aws-prod/": 4, "": 4}


def irrevocable_listing(ix: ExpiryIndex) -> None:
    ix.schedule("r1", KIND_LEASE, 1.0)
    ix.schedule("x3", KIND_LEASE, 30.0, irrevocable=True)
    ix.schedule("x1", KIND_LEASE, 10.0, irrevocable=True)
    ix.schedule("x2b", KIND_TOKEN, 20.0, irrevocable=True)
    ix.schedule("x2a", KIND_LEASE, 20.0, irrevocable=True)
    ix.schedule("r2", KIND_LEASE, 15.0)
    assert ix.irrevocable_keys(10) == ["x1", "x2a", "x2b", "x3"]
    assert ix.irrevocable_keys(2) == ["x1", "x2a"]
    assert ix.irrevocable_keys(0) == []
    ix.schedule("x1", KIND_LEASE, 10.0)
    ix.unschedule("x3")
    ix.schedule("r1", KIND_LEASE, 1.0, irrevocable=True)
    assert ix.irrevocable_keys(10) == ["r1", "x2a", "x2b"]


def many_future_entries_do_not_get_in_the_way(ix: ExpiryIndex) -> None:
    for i in range(300):
        ix.schedule(f"later/{i:03}", KIND_LEASE, 1000.0 + i)
    ix.schedule("soon", KIND_LEASE, 5.0)
    assert _keys(ix.claim(10.0, 50, 60.0)) == ["soon"]
    assert ix.claim(10.0, 50, 60.0) == []
    ix.unschedule("soon")
    assert _keys(ix.claim(1001.0, 50, 60.0)) == ["later/000", "later/001"]


CHECKS: tuple[Check, ...] = (
    empty_index_has_nothing,
    schedule_unschedule_reschedule,
    fields_round_trip,
    claim_takes_only_due_earliest_first_up_to_limit,
    ties_break_by_key,
    claim_holds_until_it_runs_out,
    a_claim_counts_from_its_own_now,
    rescheduling_drops_the_claim,
    unscheduling_a_claimed_entry,
    counts_and_filters,
    irrevocable_listing,
    many_future_entries_do_not_get_in_the_way,
)


BACKLOG = 2000
BATCH = 50


def claimers_drain_a_backlog_exactly_once(handles: Sequence[ExpiryIndex]) -> None:
    """Each handle claims in a loop and unschedules what it took, as an expiry worker does."""
    first = handles[0]
    for i in range(BACKLOG):
        first.schedule(f"lease/{i:05}", KIND_LEASE, float(i), mount=f"m{i % 3}/")
    assert first.count() == BACKLOG
    now = float(BACKLOG)
    barrier = threading.Barrier(len(handles))
    taken: list[list[str]] = [[] for _ in handles]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        ix = handles[n]
        try:
            barrier.wait()
            while batch := ix.claim(now, BATCH, HOUR):
                assert len(batch) <= BATCH
                assert [e.expire_at for e in batch] == sorted(e.expire_at for e in batch)
                for entry in batch:
                    taken[n].append(entry.key)
                    ix.unschedule(entry.key)
        except BaseException as exc:  # re-raised below, in the test thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(len(handles))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    claimed = Counter(key for keys in taken for key in keys)
    assert [key for key, n in claimed.items() if n > 1] == []
    assert sorted(claimed) == [f"lease/{i:05}" for i in range(BACKLOG)]
    assert first.count() == 0
    assert first.claim(now + 2 * HOUR, BACKLOG, HOUR) == []


SHARED_CHECKS: tuple[SharedCheck, ...] = (claimers_drain_a_backlog_exactly_once,)
