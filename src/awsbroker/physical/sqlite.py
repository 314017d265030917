"""SQLite storage: one file, WAL journal, `synchronous=FULL` so a returned put is durable."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from awsbroker.physical._keyrange import prefix_upper_bound
from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.storage import children

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
_GET = "SELECT value FROM kv WHERE key = ?"
_PUT = (
    "INSERT INTO kv (key, value) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_DELETE = "DELETE FROM kv WHERE key = ?"
_LIST_RANGE = "SELECT key FROM kv WHERE key >= ? AND key < ?"
_LIST_FROM = "SELECT key FROM kv WHERE key >= ?"


class SQLiteStorage:
    """`Storage` in one SQLite file, table `kv(key TEXT PRIMARY KEY, value BLOB NOT NULL)`.

    Threading: one connection (`check_same_thread=False`) guarded by a lock. SQLite allows
    one writer at a time anyway and every call here is a single short statement, so a
    per-thread connection pool would add open handles and a harder `close()` for little gain.
    The connection is in autocommit mode: each statement is its own transaction.
    Driver errors surface as `InternalError("storage unavailable")` with the cause chained.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InternalError("storage unavailable") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise InternalError(f"sqlite storage at {path} cannot use WAL (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            conn.close()
            raise InternalError("storage unavailable") from exc
        except InternalError:
            conn.close()
            raise
        self._conn = conn

    def get(self, key: str) -> bytes | None:
        rows = self._fetch(_GET, (key,))
        if not rows:
            return None
        value = rows[0][0]
        if not isinstance(value, bytes):
            raise InternalError("storage unavailable: stored value is not a blob")
        return value

    def put(self, key: str, value: bytes) -> None:
        self._fetch(_PUT, (key, bytes(value)))

    def delete(self, key: str) -> None:
        self._fetch(_DELETE, (key,))

    def list(self, prefix: str) -> list[str]:
        upper = prefix_upper_bound(prefix)
        if upper is None:
            rows = self._fetch(_LIST_FROM, (prefix,))
        else:
            rows = self._fetch(_LIST_RANGE, (prefix, upper))
        return children([str(row[0]) for row in rows], prefix)

    def close(self) -> None:
        """Close the file. Idempotent; later calls raise `InternalError`."""
        with self._lock:
            self._conn.close()

    def _fetch(self, sql: str, params: tuple[str | bytes, ...]) -> Sequence[tuple[object, ...]]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise InternalError("storage unavailable") from exc
