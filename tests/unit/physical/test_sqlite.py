from __future__ import annotations

import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from awsbroker.physical.sqlite import (
    _CLAIM_DUE,
    _CLAIM_MARK,
    _IRREVOCABLE_KEYS,
    _LIST_RANGE,
    SQLiteStorage,
)
from awsbroker.sdk.errors import InternalError, StorageUnavailable
from awsbroker.sdk.expiry import KIND_LEASE


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


def test_schema_is_a_kv_table_an_expiry_table_and_the_change_count(db: SQLiteStorage) -> None:
    with sqlite3.connect(db.path) as other:
        tables = other.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        columns = other.execute("PRAGMA table_info(kv)").fetchall()
        expiry = other.execute("PRAGMA table_info(expiry)").fetchall()
        changes = other.execute("SELECT id, n FROM changes").fetchall()
        indexes = other.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    other.close()
    assert tables == [("kv",), ("expiry",), ("changes",)]
    assert changes == [(1, 0)]
    assert [(c[1], c[2], c[3], c[5]) for c in columns] == [
        ("key", "TEXT", 0, 1),
        ("value", "BLOB", 1, 0),
    ]
    # name, type, not null, default, primary key
    assert [(c[1], c[2], c[3], c[4], c[5]) for c in expiry] == [
        ("key", "TEXT", 0, None, 1),
        ("kind", "TEXT", 1, None, 0),
        ("mount", "TEXT", 1, None, 0),
        ("expire_at", "REAL", 1, None, 0),
        ("claimed_until", "REAL", 1, "0", 0),
        ("attempts", "INTEGER", 1, "0", 0),
        ("irrevocable", "INTEGER", 1, "0", 0),
    ]
    assert indexes == [
        ("expiry_due", "CREATE INDEX expiry_due ON expiry (expire_at, key)"),
        (
            "expiry_irrevocable",
            "CREATE INDEX expiry_irrevocable ON expiry (expire_at, key) WHERE irrevocable = 1",
        ),
    ]


def _plan(db: SQLiteStorage, query: str, params: tuple[object, ...]) -> str:
    with sqlite3.connect(db.path) as other:
        rows = other.execute(f"EXPLAIN QUERY PLAN {query}", params).fetchall()
    other.close()
    return " | ".join(str(row[-1]) for row in rows)


def test_claim_reads_the_due_index_in_order(db: SQLiteStorage) -> None:
    plan = _plan(db, _CLAIM_DUE, (100.0, 100.0, 50))
    assert plan == "SEARCH expiry USING INDEX expiry_due (expire_at<?)"  # no temp b-tree sort


def test_claim_marks_by_primary_key(db: SQLiteStorage) -> None:
    plan = _plan(db, _CLAIM_MARK, (100.0, "k"))
    assert plan == "SEARCH expiry USING INDEX sqlite_autoindex_expiry_1 (key=?)"


def test_irrevocable_listing_reads_the_partial_index_in_order(db: SQLiteStorage) -> None:
    assert _plan(db, _IRREVOCABLE_KEYS, (10,)) == "SCAN expiry USING INDEX expiry_irrevocable"


class _FailingMark:
    """Wraps the connection so the UPDATE of a claim fails after the SELECT succeeded."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: list[tuple[object, ...]]) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("disk I/O error")

    def rollback(self) -> None:
        self.conn.rollback()


def test_a_failed_claim_rolls_back_and_marks_nothing(db: SQLiteStorage) -> None:
    db.schedule("a", KIND_LEASE, 1.0)
    real = db._conn
    db._conn = _FailingMark(real)  # type: ignore[assignment]
    try:
        with pytest.raises(InternalError, match=r"^storage unavailable$") as caught:
            db.claim(10.0, 10, 60.0)
    finally:
        db._conn = real
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert not real.in_transaction
    assert [e.key for e in db.claim(10.0, 10, 60.0)] == ["a"]
    assert not real.in_transaction


def test_claim_waits_for_another_connections_write(db: SQLiteStorage) -> None:
    """`BEGIN IMMEDIATE`: a claim never reads a snapshot another writer is about to change."""
    db.schedule("a", KIND_LEASE, 1.0)
    began = threading.Event()
    db._conn.set_trace_callback(lambda sql: began.set() if sql.startswith("BEGIN") else None)
    result: list[list[str]] = []
    with sqlite3.connect(db.path, isolation_level=None) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE expiry SET claimed_until = 1000 WHERE key = 'a'")
        claimer = threading.Thread(
            target=lambda: result.append([e.key for e in db.claim(10.0, 10, 60.0)])
        )
        claimer.start()
        assert began.wait(timeout=10)  # the claim's transaction started before our commit
        other.execute("COMMIT")
        claimer.join()
    other.close()
    db._conn.set_trace_callback(None)
    assert result == [[]]  # it saw the committed claim, not the snapshot before it


def test_negative_limit_claims_nothing(db: SQLiteStorage) -> None:
    db.schedule("a", KIND_LEASE, 1.0)
    assert db.claim(10.0, -1, 60.0) == []
    assert db.irrevocable_keys(-1) == []


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


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    storage = SQLiteStorage(str(path))
    try:
        storage.put("k", b"v")  # the write-ahead log and its shared memory exist now
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        storage.close()


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "existing.db"
    path.touch()
    path.chmod(0o640)  # the operator's choice (a backup group, say): neither loosened nor changed
    storage = SQLiteStorage(str(path))
    try:
        storage.put("k", b"v")
        assert mode(path) == 0o640
        assert mode(Path(f"{path}-wal")) == mode(Path(f"{path}-shm")) == 0o640
    finally:
        storage.close()


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
    assert not (tmp_path / "no").exists(), "a missing directory is not made"


def test_closed_storage_expiry_calls_raise_internal_error(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "kv.db"))
    storage.close()
    for call in (
        lambda: storage.schedule("k", KIND_LEASE, 1.0),
        lambda: storage.claim(1.0, 1, 1.0),
        storage.count,
    ):
        with pytest.raises(InternalError, match=r"^storage unavailable$") as caught:
            call()
        assert isinstance(caught.value.__cause__, sqlite3.Error)


def test_a_file_locked_past_the_busy_timeout_is_storage_unavailable(tmp_path: Path) -> None:
    # Another process holding the write lock is an outage a retry may get past (HTTP 503);
    # the store and its data are fine once the lock goes.
    path = str(tmp_path / "kv.db")
    storage = SQLiteStorage(path, busy_timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageUnavailable) as caught:
            storage.put("k", b"v")
        assert caught.value.messages == ["storage unavailable"]
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        other.execute("ROLLBACK")
        storage.put("k", b"v")
        assert storage.get("k") == b"v"
    finally:
        other.close()
        storage.close()


def test_other_driver_errors_stay_internal_errors(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "kv.db"))
    storage.close()
    with pytest.raises(InternalError) as caught:
        storage.get("k")
    assert not isinstance(caught.value, StorageUnavailable)
