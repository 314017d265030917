"""Every physical store keeps the change count: it starts at 0, each count adds one, atomically
across handles (as across processes), and a count made through one handle is in the very next
read through any other."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.conformance.stores import Opener

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
    start = threading.Barrier(threads)
    returned: list[int] = []
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                returned.append(handles[t % HANDLES].count_change())
        except BaseException as exc:  # re-raised below, in the test thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
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
