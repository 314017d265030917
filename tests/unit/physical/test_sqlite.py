from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from awsbroker.physical.sqlite import _LIST_RANGE, SQLiteStorage
from awsbroker.sdk.errors import InternalError


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteStorage]:
    storage = SQLiteStorage(str(tmp_path / "kv.db"))
    yield storage
    storage.close()


def test_file_is_in_wal_mode(db: SQLiteStorage) -> None:
    db.put("k", b"v")
    with sqlite3.connect(db.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()


def test_commits_are_fully_synchronous(db: SQLiteStorage) -> None:
    assert db._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_schema_is_one_kv_table(db: SQLiteStorage) -> None:
    with sqlite3.connect(db.path) as other:
        tables = other.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        columns = other.execute("PRAGMA table_info(kv)").fetchall()
    other.close()
    assert tables == [("kv",)]
    assert [(c[1], c[2], c[3], c[5]) for c in columns] == [
        ("key", "TEXT", 0, 1),
        ("value", "BLOB", 1, 0),
    ]


def test_list_is_an_index_range_search(db: SQLiteStorage) -> None:
    with sqlite3.connect(db.path) as other:
        plan = other.execute(f"EXPLAIN QUERY PLAN {_LIST_RANGE}", ("a/", "a0")).fetchall()
    other.close()
    detail = " ".join(str(row[-1]) for row in plan)
    assert detail.startswith("SEARCH kv USING")
    assert "key>? AND key<?" in detail


def test_usable_from_another_thread(db: SQLiteStorage) -> None:
    done: list[bytes | None] = []
    db.put("k", b"v")
    worker = threading.Thread(target=lambda: done.append(db.get("k")))
    worker.start()
    worker.join()
    assert done == [b"v"]


def test_closed_storage_raises_internal_error(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "kv.db"))
    storage.close()
    storage.close()
    with pytest.raises(InternalError, match=r"^storage unavailable$") as caught:
        storage.get("k")
    assert isinstance(caught.value.__cause__, sqlite3.Error)


def test_unopenable_path_raises_internal_error(tmp_path: Path) -> None:
    with pytest.raises(InternalError) as caught:
        SQLiteStorage(str(tmp_path / "no" / "such" / "dir" / "kv.db"))
    assert caught.value.messages == ["storage unavailable"]
    assert isinstance(caught.value.__cause__, sqlite3.Error)
