"""Every physical store keeps the change count: it starts at 0, each count adds one, atomically
across handles (as across processes), and a count made through one handle is in the very next
read through any other."""

from __future__ import annotations

from pathlib import Path

from tests.conformance.stores import Opener
from tests.support.threads import run_together

from awsbroker.physical.sqlite import SQLiteStorage

HANDLES = 4


def test_counts_from_zero(opener: Opener) -> None:
    store = opener()
    assert store.change_count() == 0
    assert store.count_change() == 1
    assert store.count_change() == 2
    assert store.change_count() == 2


def test_a_count_through_one_handle_is_in_the_next_read_through_any(opener: Opener) -> None:
    handles = [opener() for _ in range(HANDLES)]
    for n in range(1, 41):
        assert handles[n % HANDLES].count_change() == n
        for handle in handles:
            assert handle.change_count() == n


def test_counts_from_several_handles_at_once_all_land(opener: Opener) -> None:
    handles = [opener() for _ in range(HANDLES)]
    threads, per_thread = 8, 25
    returned: list[int] = []

    def work(t: int) -> None:
        for _ in range(per_thread):
            returned.append(handles[t % HANDLES].count_change())

    run_together(threads, work)
    assert sorted(returned) == list(range(1, threads * per_thread + 1))
    assert handles[0].change_count() == threads * per_thread


def test_sqlite_keeps_the_count_across_reopen(tmp_path: Path) -> None:
    first = SQLiteStorage(str(tmp_path / "kv.db"))
    first.count_change()
    first.close()
    second = SQLiteStorage(str(tmp_path / "kv.db"))
    try:
        assert second.change_count() == 1
    finally:
        second.close()
