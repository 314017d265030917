"""Checks every `Storage` must pass. Each takes a fresh, empty storage.

`CHECKS` lists them; `test_storage_conformance.py` runs each against every backend (and the
barrier). `SHARED_CHECKS` take several handles on one store, as several processes have.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence

from tests.support.threads import run_together

from awsbroker.sdk.storage import Storage, list_recursive, update

Check = Callable[[Storage], None]
SharedCheck = Callable[[Sequence[Storage]], None]


def put_then_get(s: Storage) -> None:
    assert s.get("k") is None
    s.put("k", b"v")
    assert s.get("k") == b"v"
    assert s.get("k2") is None


def overwrite_replaces(s: Storage) -> None:
    s.put("k", b"first, and longer")
    s.put("k", b"second")
    assert s.get("k") == b"second"
    assert s.list("") == ["k"]


def delete_removes_and_missing_is_noop(s: Storage) -> None:
    s.delete("never/was")
    s.put("a/b", b"1")
    s.put("a/c", b"2")
    s.delete("a/b")
    assert s.get("a/b") is None
    assert s.get("a/c") == b"2"
    s.delete("a/b")
    assert s.list("a/") == ["c"]
    s.delete("a/c")
    assert s.list("") == []
    assert s.list("a/") == []


def list_immediate_children(s: Storage) -> None:
    for key in ("top", "a/x", "a/y/1", "a/y/2", "a/y/z/deep", "a/z", "b/q"):
        s.put(key, b"v")
    assert s.list("") == ["a/", "b/", "top"]
    assert s.list("a/") == ["x", "y/", "z"]
    assert s.list("a/y/") == ["1", "2", "z/"]
    assert s.list("a/y/z/") == ["deep"]


def list_sorted_without_duplicates(s: Storage) -> None:
    names = ["m", "c", "z", "a", "q"]
    for name in names:
        for i in range(5):
            s.put(f"p/{name}/{i}", b"v")
        s.put(f"p/{name}", b"leaf beside folder")
    listed = s.list("p/")
    assert listed == sorted(set(listed))
    assert listed == sorted([*names, *(f"{n}/" for n in names)])


def list_missing_prefix_is_empty(s: Storage) -> None:
    assert s.list("") == []
    assert s.list("nothing/") == []
    s.put("some/key", b"v")
    assert s.list("nothing/") == []
    assert s.list("some/key/") == []


def similar_prefixes_do_not_leak(s: Storage) -> None:
    for key in ("a/b", "a/bc", "ab", "a/b/c", "a.b", "a0", "a/b0", "a/b.x", "b", "`"):
        s.put(key, b"v")
    assert s.list("") == ["`", "a.b", "a/", "a0", "ab", "b"]
    assert s.list("a/") == ["b", "b.x", "b/", "b0", "bc"]
    assert s.list("a/b/") == ["c"]
    assert s.list("ab/") == []


def binary_values_round_trip(s: Storage) -> None:
    values = {
        "empty": b"",
        "nul": b"\x00",
        "all-bytes": bytes(range(256)),
        "not-utf8": b"\xff\xfe\x80\xc3(",
        "one-mib": os.urandom(1 << 20),
    }
    for key, value in values.items():
        s.put(key, value)
    for key, value in values.items():
        got = s.get(key)
        assert type(got) is bytes
        assert got == value


def unicode_keys(s: Storage) -> None:
    keys = ["ключ/значение", "鍵/値", "emoji/🔑", "emoji/🔒/x", "café/naïve", "max/\U0010ffff"]
    for i, key in enumerate(keys):
        s.put(key, str(i).encode())
    for i, key in enumerate(keys):
        assert s.get(key) == str(i).encode()
    assert s.list("") == sorted(["ключ/", "鍵/", "emoji/", "café/", "max/"])
    assert s.list("emoji/") == ["🔑", "🔒/"]
    assert s.list("max/") == ["\U0010ffff"]
    assert s.list("\U0010ffff/") == []


def concurrent_puts_all_land(s: Storage) -> None:
    threads, per_thread = 8, 40

    def work(t: int) -> None:
        for i in range(per_thread):
            s.put(f"c/{t}/{i}", f"{t}:{i}".encode())
            assert s.get(f"c/{t}/{i}") == f"{t}:{i}".encode()

    run_together(threads, work)
    assert s.list("c/") == sorted(f"{t}/" for t in range(threads))
    expected = sorted(f"c/{t}/{i}" for t in range(threads) for i in range(per_thread))
    assert sorted(list_recursive(s, "c/")) == expected
    for t in range(threads):
        for i in range(per_thread):
            assert s.get(f"c/{t}/{i}") == f"{t}:{i}".encode()


def cas_creates_only_what_is_absent(s: Storage) -> None:
    assert s.compare_and_set("k", None, b"first") is True
    assert s.get("k") == b"first"
    assert s.compare_and_set("k", None, b"second") is False
    assert s.get("k") == b"first"
    assert s.list("") == ["k"]


def cas_replaces_only_what_is_unchanged(s: Storage) -> None:
    s.put("k", b"one")
    assert s.compare_and_set("k", b"two", b"three") is False
    assert s.compare_and_set("k", b"on", b"three") is False
    assert s.compare_and_set("k", b"one\x00", b"three") is False
    assert s.get("k") == b"one"
    assert s.compare_and_set("k", b"one", b"two") is True
    assert s.get("k") == b"two"
    assert s.compare_and_set("missing", b"one", b"two") is False
    assert s.get("missing") is None


def cas_deletes_only_what_is_unchanged(s: Storage) -> None:
    s.put("a/k", b"v")
    assert s.compare_and_set("a/k", b"w", None) is False
    assert s.get("a/k") == b"v"
    assert s.compare_and_set("a/k", b"v", None) is True
    assert s.get("a/k") is None
    assert s.list("a/") == []
    assert s.compare_and_set("a/k", b"v", None) is False


def cas_of_absent_to_absent_checks_absence(s: Storage) -> None:
    assert s.compare_and_set("k", None, None) is True
    s.put("k", b"v")
    assert s.compare_and_set("k", None, None) is False
    assert s.get("k") == b"v"


def cas_compares_binary_values_exactly(s: Storage) -> None:
    values = [b"", b"\x00", bytes(range(256)), os.urandom(1 << 16), b"\xff\xfe\x80"]
    s.put("k", values[0])
    for old, new in itertools.pairwise(values):
        assert s.compare_and_set("k", new, old) is False
        assert s.compare_and_set("k", old, new) is True
        assert s.get("k") == new


def _count_up(handles: Sequence[Storage], threads: int, per_thread: int) -> None:
    """`threads` threads, spread over the handles, each add 1 to one counter `per_thread`
    times with `update`; every increment must land."""

    def add_one(value: bytes | None) -> bytes:
        return str(int(value or b"0") + 1).encode()

    def work(t: int) -> None:
        for _ in range(per_thread):
            update(handles[t % len(handles)], "counter", add_one)

    run_together(threads, work)
    assert handles[0].get("counter") == str(threads * per_thread).encode()


def cas_increments_from_threads_all_land(s: Storage) -> None:
    _count_up([s], threads=8, per_thread=25)


CHECKS: tuple[Check, ...] = (
    put_then_get,
    overwrite_replaces,
    delete_removes_and_missing_is_noop,
    list_immediate_children,
    list_sorted_without_duplicates,
    list_missing_prefix_is_empty,
    similar_prefixes_do_not_leak,
    binary_values_round_trip,
    unicode_keys,
    concurrent_puts_all_land,
    cas_creates_only_what_is_absent,
    cas_replaces_only_what_is_unchanged,
    cas_deletes_only_what_is_unchanged,
    cas_of_absent_to_absent_checks_absence,
    cas_compares_binary_values_exactly,
    cas_increments_from_threads_all_land,
)


def cas_increments_from_several_handles_all_land(handles: Sequence[Storage]) -> None:
    """As several processes sharing one database: no increment is lost."""
    _count_up(handles, threads=8, per_thread=25)


SHARED_CHECKS: tuple[SharedCheck, ...] = (cas_increments_from_several_handles_all_land,)
