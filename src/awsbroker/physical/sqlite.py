"""SQLite storage: one file, WAL journal, `synchronous=FULL` so a returned put is durable.

Beside the `kv` table sit `changes`, one row holding the `ChangeCount`, and `expiry`, the
`ExpiryIndex`:

    expiry(key TEXT PRIMARY KEY, kind TEXT, mount TEXT, expire_at REAL,
           claimed_until REAL DEFAULT 0, attempts INTEGER DEFAULT 0, irrevocable INTEGER DEFAULT 0)
    expiry_due          ON expiry (expire_at, key)                      -- claim
    expiry_irrevocable  ON expiry (expire_at, key) WHERE irrevocable = 1 -- irrevocable listing
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from awsbroker.physical._expiry import due_entry
from awsbroker.physical._keyrange import prefix_upper_bound
from awsbroker.sdk.errors import InternalError, StorageUnavailable
from awsbroker.sdk.expiry import KIND_JOB, DueEntry
from awsbroker.sdk.storage import children

# Seconds a statement waits for another process's write lock on the file (sqlite3's default),
# as the PostgreSQL store waits at most 5 s for a connection.
BUSY_TIMEOUT = 5.0
# The first bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS expiry ("
    " key TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " mount TEXT NOT NULL,"
    " expire_at REAL NOT NULL,"
    " claimed_until REAL NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " irrevocable INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS expiry_due ON expiry (expire_at, key)",
    "CREATE INDEX IF NOT EXISTS expiry_irrevocable ON expiry (expire_at, key)"
    " WHERE irrevocable = 1",
    "CREATE TABLE IF NOT EXISTS changes"
    " (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO changes (id, n) VALUES (1, 0)",
)
_CHANGES = "SELECT n FROM changes WHERE id = 1"
_COUNT_CHANGE = "UPDATE changes SET n = n + 1 WHERE id = 1"
_GET = "SELECT value FROM kv WHERE key = ?"
_PUT = (
    "INSERT INTO kv (key, value) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
_DELETE = "DELETE FROM kv WHERE key = ?"
# compare_and_set: insert if absent, replace or delete if unchanged. One statement each, so
# atomic across processes; the row count says whether it applied.
_INSERT_NEW = "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
_REPLACE_IF = "UPDATE kv SET value = ? WHERE key = ? AND value = ?"
_DELETE_IF = "DELETE FROM kv WHERE key = ? AND value = ?"
_LIST_RANGE = "SELECT key FROM kv WHERE key >= ? AND key < ?"
_LIST_FROM = "SELECT key FROM kv WHERE key >= ?"

_SCHEDULE = (
    "INSERT INTO expiry (key, kind, mount, expire_at, claimed_until, attempts, irrevocable)"
    " VALUES (?, ?, ?, ?, 0, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, mount = excluded.mount,"
    " expire_at = excluded.expire_at, claimed_until = 0, attempts = excluded.attempts,"
    " irrevocable = excluded.irrevocable"
)
_UNSCHEDULE = "DELETE FROM expiry WHERE key = ?"
_JOBS = (
    "SELECT key, kind, mount, expire_at, attempts, irrevocable"
    " FROM expiry WHERE kind = ? AND mount = ?"
)
_CLAIM_DUE = (
    "SELECT key, kind, mount, expire_at, attempts, irrevocable"
    " FROM expiry WHERE expire_at <= ? AND claimed_until <= ?"
    " ORDER BY expire_at, key LIMIT ?"
)
_CLAIM_MARK = "UPDATE expiry SET claimed_until = ? WHERE key = ?"
_COUNT_BY_MOUNT = "SELECT mount, count(*) FROM expiry WHERE {} GROUP BY mount"
# Literal `irrevocable = 1` (never a parameter) lets the planner use the partial index.
_IRREVOCABLE = {True: "irrevocable = 1", False: "irrevocable = 0"}
_IRREVOCABLE_KEYS = "SELECT key FROM expiry WHERE irrevocable = 1 ORDER BY expire_at, key LIMIT ?"


def _create_private(path: str) -> None:
    """Create the database file 0600 unless it exists: SQLite would make it 0644 (less the
    umask), readable by every local user, and it gives the `-wal` and `-shm` files it makes
    beside it the database file's mode, so those are private too. An existing file keeps the
    mode its operator gave it. The directory must exist: it is not made here."""
    if path in ("", ":memory:"):
        return  # SQLite's names for a database that is no file
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # it exists, or cannot be made: `sqlite3.connect` opens it or says why
    os.close(fd)


def open_problem(path: str) -> str | None:
    """Why the database file at `path` cannot be opened for reading and writing, in words an
    operator can act on, or None when nothing is visibly wrong (SQLite's own error then says
    why). The directory must be writable too: SQLite makes its `-wal` and `-shm` files there."""
    if path in ("", ":memory:"):
        return None
    target = Path(path)
    directory = target.parent
    for ancestor in (directory, *directory.parents):  # the nearest that exists
        try:
            if not stat.S_ISDIR(ancestor.stat().st_mode):
                return f"{ancestor} is not a directory"
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"cannot reach {ancestor}: {exc.strerror or exc}"
        if ancestor != directory:
            return f"the directory {directory} does not exist (create it first)"
        break
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"permission denied: this user cannot write in the directory {directory}"
    try:
        if target.is_dir():
            return "it is a directory, not a database file"
        if not target.exists():
            return None
        if not os.access(target, os.R_OK | os.W_OK):
            return "permission denied: this user cannot read and write the file"
        with open(target, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"
    if header and header != SQLITE_HEADER:  # an empty file is a new database
        return "the file is not an SQLite database"
    return None


# `list` is a method name in the class below, so annotations there use this alias.
DueEntries = list[DueEntry]


class SQLiteStorage:
    """`Storage` and `ExpiryIndex` in one SQLite file: tables `kv` and `expiry`.

    `kv(key TEXT PRIMARY KEY, value BLOB NOT NULL)` holds the bytes; `expiry` (see the module
    docstring) holds what is due when, indexed by `(expire_at, key)` so `claim` reads only the
    due entries, in order.

    Threading: one connection (`check_same_thread=False`) guarded by a lock. SQLite allows
    one writer at a time anyway and every call here is a single short statement, so a
    per-thread connection pool would add open handles and a harder `close()` for little gain.
    The connection is in autocommit mode: each statement is its own transaction, except
    `claim`, which selects and marks in one `BEGIN IMMEDIATE` transaction so that processes
    sharing the file never claim the same entry, and `count_change`, likewise.
    Driver errors surface as `InternalError("storage unavailable")` with the cause chained;
    the file still locked by another process after `busy_timeout` seconds (SQLITE_BUSY) as
    `StorageUnavailable`, which a retry may get past (HTTP 503, as for PostgreSQL).
    """

    def __init__(self, path: str, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self._lock = threading.Lock()
        _create_private(path)
        try:
            conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise InternalError("storage unavailable") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise InternalError(f"sqlite storage at {path} cannot use WAL (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except sqlite3.Error as exc:
            conn.close()
            raise InternalError("storage unavailable") from exc
        except InternalError:
            conn.close()
            raise
        self._conn = conn

    # ---- ExpiryIndex ----------------------------------------------------------------------

    def schedule(
        self,
        key: str,
        kind: str,
        expire_at: float,
        *,
        mount: str = "",
        attempts: int = 0,
        irrevocable: bool = False,
    ) -> None:
        self._fetch(_SCHEDULE, (key, kind, mount, float(expire_at), attempts, int(irrevocable)))

    def unschedule(self, key: str) -> None:
        self._fetch(_UNSCHEDULE, (key,))

    def claim(self, now: float, limit: int, claim_for: float) -> DueEntries:
        if limit < 1:  # SQLite reads a negative LIMIT as "no limit"
            return []
        until = float(now + claim_for)
        with self._transaction() as conn:
            rows = conn.execute(_CLAIM_DUE, (now, now, limit)).fetchall()
            conn.executemany(_CLAIM_MARK, [(until, row[0]) for row in rows])
        return [due_entry(row) for row in rows]

    def count(self, *, kind: str | None = None, irrevocable: bool | None = None) -> int:
        where: list[str] = []
        params: list[Any] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if irrevocable is not None:
            where.append(_IRREVOCABLE[irrevocable])
        query = "SELECT count(*) FROM expiry"
        if where:
            query += " WHERE " + " AND ".join(where)
        return int(self._fetch(query, tuple(params))[0][0])

    def count_by_mount(self, *, irrevocable: bool) -> dict[str, int]:
        rows = self._fetch(_COUNT_BY_MOUNT.format(_IRREVOCABLE[irrevocable]), ())
        return {str(mount): int(n) for mount, n in rows}

    def irrevocable_keys(self, limit: int) -> list[str]:
        if limit < 1:
            return []
        return [str(row[0]) for row in self._fetch(_IRREVOCABLE_KEYS, (limit,))]

    def jobs(self, mount: str) -> DueEntries:
        return [due_entry(row) for row in self._fetch(_JOBS, (KIND_JOB, mount))]

    # ---- ChangeCount ----------------------------------------------------------------------

    def change_count(self) -> int:
        return int(self._fetch(_CHANGES, ())[0][0])

    def count_change(self) -> int:
        with self._transaction() as conn:
            conn.execute(_COUNT_CHANGE)
            return int(conn.execute(_CHANGES).fetchone()[0])

    # ---- Storage --------------------------------------------------------------------------

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

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        if expected is None and value is None:
            return self.get(key) is None
        if expected is None:
            return self._changed(_INSERT_NEW, (key, bytes(value or b"")))
        if value is None:
            return self._changed(_DELETE_IF, (key, bytes(expected)))
        return self._changed(_REPLACE_IF, (bytes(value), key, bytes(expected)))

    def close(self) -> None:
        """Close the file. Idempotent; later calls raise `InternalError`."""
        with self._lock:
            self._conn.close()

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Any]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _driver_error(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, begun at once (`BEGIN IMMEDIATE`: other processes' writes
        wait for it), committed when the block ends, rolled back if it raises."""
        try:
            with self._lock:
                conn = self._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    conn.rollback()
                    raise
        except sqlite3.Error as exc:
            raise _driver_error(exc) from exc

    def _changed(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Run one statement; True if it changed a row."""
        try:
            with self._lock:
                return bool(self._conn.execute(sql, params).rowcount == 1)
        except sqlite3.Error as exc:
            raise _driver_error(exc) from exc


def _driver_error(exc: sqlite3.Error) -> InternalError:
    """The file locked by another writer for longer than the busy timeout is an outage a retry
    may get past; anything else (I/O error, a full disk, a closed handle) is our fault."""
    if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StorageUnavailable()
    return InternalError("storage unavailable")
