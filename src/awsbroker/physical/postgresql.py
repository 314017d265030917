"""PostgreSQL storage: a KV table, its expiry table and change-count sequence, a connection pool,
autocommit statements."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from awsbroker.physical._keyrange import prefix_upper_bound
from awsbroker.physical.postgresql_expiry import NAME_HEADROOM, Conn, PostgreSQLExpiry
from awsbroker.sdk.errors import InternalError, StorageUnavailable
from awsbroker.sdk.storage import children

# PostgreSQL identifiers hold 63 bytes; the expiry table and its indexes append to the name.
MAX_TABLE_NAME = 63 - NAME_HEADROOM
_TABLE_NAME = re.compile(rf"[A-Za-z_][A-Za-z0-9_]{{0,{MAX_TABLE_NAME - 1}}}")

_CREATE = 'CREATE TABLE IF NOT EXISTS {} (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL)'
_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%s))"
_GET = "SELECT value FROM {} WHERE key = %s"
_PUT = (
    "INSERT INTO {} (key, value) VALUES (%s, %s)"
    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
)
_DELETE = "DELETE FROM {} WHERE key = %s"
# compare_and_set: insert if absent, replace or delete if unchanged; one statement each, so
# atomic; the row count says whether it applied.
_INSERT_NEW = "INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING"
_REPLACE_IF = "UPDATE {} SET value = %s WHERE key = %s AND value = %s"
_DELETE_IF = "DELETE FROM {} WHERE key = %s AND value = %s"
_LIST_RANGE = "SELECT key FROM {} WHERE key >= %s AND key < %s"
_LIST_FROM = "SELECT key FROM {} WHERE key >= %s"
# The change count is a sequence `<table>_changes`: `nextval` is atomic and seen by every
# session at once (sequences are not transactional), and reading it is a one-row scan.
CHANGES_SUFFIX = "_changes"
_CREATE_CHANGES = "CREATE SEQUENCE IF NOT EXISTS {}"
_CHANGES = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}"
_COUNT_CHANGE = "SELECT nextval(%s::regclass)"

# While the server is unreachable, a request must fail soon rather than hang: a statement waits
# at most `CHECKOUT_WAIT` seconds for a pooled connection (under load a healthy pool hands one
# out in milliseconds), and libpq gives up a connection attempt after `CONNECT_TIMEOUT` seconds
# unless the DSN sets its own `connect_timeout`.
CHECKOUT_WAIT = 5.0
CONNECT_TIMEOUT = 5
# The pool retries a lost connection after 1, 2, 4, 8 ... seconds, so after a long outage it
# could wait as long again before noticing the server is back. Giving each run of attempts up
# after `RECONNECT_WINDOW` seconds keeps the gaps short: the next statement that needs a
# connection starts a new run, whose first attempt is immediate.
RECONNECT_WINDOW = 5.0
# A connection that served a statement this many seconds ago is handed out unchecked.
FRESH_FOR = 1.0

__all__ = ["MAX_TABLE_NAME", "Conn", "PostgreSQLStorage"]


class PostgreSQLStorage(PostgreSQLExpiry):
    """`Storage` in one PostgreSQL table `(key TEXT COLLATE "C" PRIMARY KEY, value BYTEA)`,
    `ExpiryIndex` in `<table>_expiry` (see `postgresql_expiry`), on one pool, and the
    `ChangeCount` in the sequence `<table>_changes`, read on a connection of its own: it is read
    before every request, and a pooled checkout (with its liveness check) would cost that
    request as much again as the read.

    The `C` collation makes the primary-key index order byte-wise, so `list` is an index
    range scan. Both tables are created if missing, in one transaction under an advisory
    lock on the table name. A first connection is made on its own: if the server refuses
    it the constructor fails at once, as Vault's does, and does not wait for PostgreSQL to come
    up. The pool is then opened and filled before the constructor returns; `timeout` bounds
    that wait. After that, a statement waits at most `wait` seconds for a connection. A lost
    or refused connection becomes
    `StorageUnavailable("storage unavailable")`, any other driver error `InternalError` with
    the same message; the cause is chained and the DSN never echoed. `table` is letters,
    digits and `_`, at most `MAX_TABLE_NAME` characters.
    """

    def __init__(
        self,
        connection_url: str,
        table: str = "awsbroker_kv",
        min_size: int = 1,
        max_size: int = 10,
        *,
        timeout: float = 30.0,
        wait: float = CHECKOUT_WAIT,
    ) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(
                f"invalid table name {table!r}: use letters, digits and '_',"
                f" at most {MAX_TABLE_NAME} characters"
            )
        self.table = table
        self._init_expiry(table)
        ident = sql.Identifier(table)
        self._get = sql.SQL(_GET).format(ident)
        self._put = sql.SQL(_PUT).format(ident)
        self._delete = sql.SQL(_DELETE).format(ident)
        self._insert_new = sql.SQL(_INSERT_NEW).format(ident)
        self._replace_if = sql.SQL(_REPLACE_IF).format(ident)
        self._delete_if = sql.SQL(_DELETE_IF).format(ident)
        self._list_range = sql.SQL(_LIST_RANGE).format(ident)
        self._list_from = sql.SQL(_LIST_FROM).format(ident)
        changes = table + CHANGES_SUFFIX
        self._create_changes = sql.SQL(_CREATE_CHANGES).format(sql.Identifier(changes))
        self._changes = sql.SQL(_CHANGES).format(sql.Identifier(changes))
        self._changes_regclass = f'"{changes}"'  # the table name has no quotes: checked above
        self._count_url = connection_url
        self._count_lock = threading.Lock()
        self._count_conn: Conn | None = None
        self._count_cursor: psycopg.Cursor[TupleRow] | None = None
        self._changes_query = b""
        self._wait = wait
        self._last_used: weakref.WeakKeyDictionary[Conn, float] = weakref.WeakKeyDictionary()
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            connection_url,
            min_size=min_size,
            max_size=max_size,
            kwargs=_connect_kwargs(connection_url),
            check=self._check_connection,
            timeout=timeout,
            open=False,
        )
        try:
            # One connection first: a server that refuses it, or a DSN libpq cannot use, is
            # reported at once in the driver's words; the pool would retry for `timeout` and
            # then say only that it timed out.
            psycopg.connect(connection_url, **_connect_kwargs(connection_url)).close()
        except psycopg.Error as exc:
            raise _storage_error(exc) from exc
        try:
            self._pool.open(wait=True, timeout=timeout)
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(_LOCK, (table,))
                conn.execute(sql.SQL(_CREATE).format(ident))
                self._create_expiry(conn)
                conn.execute(self._create_changes)
        except psycopg.Error as exc:
            self._pool.close()
            raise _storage_error(exc) from exc
        # Set once open: at start-up the pool keeps trying for the whole of `timeout`.
        self._pool.reconnect_timeout = RECONNECT_WINDOW

    def get(self, key: str) -> bytes | None:
        with self._connection() as conn:
            row = conn.execute(self._get, (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        with self._connection() as conn:
            conn.execute(self._put, (key, bytes(value)))

    def delete(self, key: str) -> None:
        with self._connection() as conn:
            conn.execute(self._delete, (key,))

    def list(self, prefix: str) -> list[str]:
        upper = prefix_upper_bound(prefix)
        with self._connection() as conn:
            if upper is None:
                rows = conn.execute(self._list_from, (prefix,)).fetchall()
            else:
                rows = conn.execute(self._list_range, (prefix, upper)).fetchall()
        return children([str(row[0]) for row in rows], prefix)

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        if expected is None and value is None:
            return self.get(key) is None
        params: tuple[str | bytes, ...]
        if expected is None:
            statement, params = self._insert_new, (key, bytes(value or b""))
        elif value is None:
            statement, params = self._delete_if, (key, bytes(expected))
        else:
            statement, params = self._replace_if, (bytes(value), key, bytes(expected))
        with self._connection() as conn:
            return conn.execute(statement, params).rowcount == 1

    def change_count(self) -> int:
        with self._count_lock:
            try:
                cursor = self._count_cursor
                if cursor is None or cursor.closed or cursor.connection.closed:
                    cursor = self._open_count_cursor()
                cursor.execute(self._changes_query)
                row = cursor.fetchone()
            except psycopg.Error as exc:
                self._drop_count_connection()
                raise _storage_error(exc) from exc
        return 0 if row is None else int(row[0])

    def _open_count_cursor(self) -> psycopg.Cursor[TupleRow]:
        """The change count's own connection, and one cursor on it kept for every read (the
        query rendered once: this read is on every request's path)."""
        self._drop_count_connection()
        conn = psycopg.connect(self._count_url, **_connect_kwargs(self._count_url))
        self._count_conn = conn
        self._changes_query = self._changes.as_bytes(conn)
        self._count_cursor = conn.cursor()
        return self._count_cursor

    def count_change(self) -> int:
        with self._connection() as conn:
            row = conn.execute(_COUNT_CHANGE, (self._changes_regclass,)).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        """Close the pool. Idempotent; later calls raise `InternalError`."""
        self._pool.close()
        with self._count_lock:
            self._drop_count_connection()

    def _drop_count_connection(self) -> None:
        if self._count_conn is not None:
            self._count_conn.close()
        self._count_conn = self._count_cursor = None

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        try:
            with self._pool.connection(timeout=self._wait) as conn:
                yield conn
                self._last_used[conn] = time.monotonic()
        except psycopg.Error as exc:
            raise _storage_error(exc) from exc

    def _check_connection(self, conn: Conn) -> None:
        """The pool's check of a connection it is about to hand out. One that just served a
        statement is taken as alive: under load every connection has, and a round trip to
        check it would double every statement's. One idle for longer (perhaps across a
        restart of the server) is checked with an empty query, and replaced if that fails."""
        used = self._last_used.get(conn)
        if used is not None and time.monotonic() - used < FRESH_FOR and not conn.broken:
            return
        ConnectionPool.check_connection(conn)


def _connect_kwargs(connection_url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True}
    try:
        given = conninfo_to_dict(connection_url)
    except psycopg.Error:
        given = {}  # the pool's first connection attempt reports it
    if "connect_timeout" not in given:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT
    return kwargs


def without_secrets(text: str, connection_url: str) -> str:
    """`text` (a driver's message, say) with the connection URL, and its password, blotted
    out: a malformed URL is echoed by the parser, and a parsed one may hold a password."""
    try:
        password = str(conninfo_to_dict(connection_url).get("password") or "")
    except psycopg.Error:
        password = ""
    for secret in (connection_url, password):
        if secret:
            text = text.replace(secret, "***")
    return text


def _storage_error(exc: psycopg.Error) -> InternalError:
    """What a driver error means to the caller. `OperationalError` is the server out of reach:
    refused, lost or timed-out connections, a server shutting down, and the pool's own timeout
    and closed state."""
    if isinstance(exc, psycopg.OperationalError):
        return StorageUnavailable("storage unavailable")
    return InternalError("storage unavailable")
