"""The stores a benchmark fills: a fresh SQLite file or a fresh PostgreSQL table pair.

Each target opens the real physical store (which creates the schema), and bulk-inserts rows
straight into the same tables with the database driver, in a few large transactions, which is
what makes a million leases affordable: the server's own path commits each put durably.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql

from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

# A `kv` row, and an expiry-index row in column order
# (key, kind, mount, expire_at, claimed_until, attempts, irrevocable).
KVRow = tuple[str, bytes]
ExpiryRow = tuple[str, str, str, float, float, int, bool]
Physical = SQLiteStorage | PostgreSQLStorage


def pg_dsn() -> str:
    return os.environ.get("AWSBROKER_BENCH_PG_DSN") or DEFAULT_PG_DSN


class Target(Protocol):
    kind: str
    # Whether `insert` may run in a second thread while the next chunk is encrypted: worth it
    # when the database works in another process (PostgreSQL), not when it binds and writes
    # under this process's GIL (SQLite), where the two threads only take turns.
    overlap_inserts: bool

    def open_physical(self) -> Physical: ...

    def server_storage(self) -> dict[str, str]: ...

    def insert(self, kv: Sequence[KVRow], expiry: Sequence[ExpiryRow]) -> None:
        """Insert the rows in one transaction; returns once it is committed."""
        ...

    def finish_fill(self) -> None:
        """What a store that has been running a while would have done by now."""
        ...

    def size_bytes(self) -> int: ...

    def expiry_row(self, key: str) -> ExpiryRow | None: ...

    def cleanup(self) -> None: ...


class SQLiteTarget:
    kind = "sqlite"
    overlap_inserts = False

    def __init__(self, workdir: Path, name: str) -> None:
        self.path = workdir / f"{name}.db"
        self._bulk: sqlite3.Connection | None = None

    def open_physical(self) -> SQLiteStorage:
        return SQLiteStorage(str(self.path))

    def server_storage(self) -> dict[str, str]:
        return {"path": str(self.path)}

    def _connection(self) -> sqlite3.Connection:
        """One connection for the whole fill, so its page cache stays warm between chunks."""
        if self._bulk is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            # The file is already in WAL mode (the store set it). A bulk load needs no fsync
            # per commit: the rows are the same, only their durability while loading differs.
            conn.execute("PRAGMA synchronous=OFF")
            # Random keys land all over the indexes: a large cache saves rereading them.
            conn.execute("PRAGMA cache_size=-1048576")  # KiB: 1 GiB
            self._bulk = conn
        return self._bulk

    def _close(self) -> None:
        if self._bulk is not None:
            self._bulk.close()
            self._bulk = None

    def insert(self, kv: Sequence[KVRow], expiry: Sequence[ExpiryRow]) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO kv (key, value) VALUES (?, ?)", kv)
            conn.executemany(
                "INSERT INTO expiry (key, kind, mount, expire_at, claimed_until, attempts,"
                " irrevocable) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*row[:6], int(row[6])) for row in expiry],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def finish_fill(self) -> None:
        # Fold the WAL into the database file, as SQLite's automatic checkpoints would have;
        # a server opening a file with a large WAL first reads all of it.
        try:
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._close()

    def size_bytes(self) -> int:
        return sum(
            os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal")) if os.path.exists(p)
        )

    def expiry_row(self, key: str) -> ExpiryRow | None:
        conn = sqlite3.connect(self.path)
        try:
            row = conn.execute(
                "SELECT key, kind, mount, expire_at, claimed_until, attempts, irrevocable"
                " FROM expiry WHERE key = ?",
                (key,),
            ).fetchone()
        finally:
            conn.close()
        return None if row is None else (*row[:6], bool(row[6]))

    def cleanup(self) -> None:
        self._close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PostgreSQLTarget:
    kind = "postgresql"
    overlap_inserts = True

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.table = f"awsbroker_bench_{secrets.token_hex(5)}"
        self.expiry_table = f"{self.table}_expiry"

    def open_physical(self) -> PostgreSQLStorage:
        return PostgreSQLStorage(self.dsn, table=self.table)

    def server_storage(self) -> dict[str, str]:
        return {"connection_url": self.dsn, "table": self.table}

    def insert(self, kv: Sequence[KVRow], expiry: Sequence[ExpiryRow]) -> None:
        kv_copy = sql.SQL("COPY {} (key, value) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.table)
        )
        expiry_copy = sql.SQL(
            "COPY {} (key, kind, mount, expire_at, claimed_until, attempts, irrevocable)"
            " FROM STDIN (FORMAT BINARY)"
        ).format(sql.Identifier(self.expiry_table))
        with psycopg.connect(self.dsn) as conn, conn.cursor() as cur:
            with cur.copy(kv_copy) as copy:
                copy.set_types(["text", "bytea"])
                for row in kv:
                    copy.write_row(row)
            with cur.copy(expiry_copy) as copy:
                copy.set_types(["text", "text", "text", "float8", "float8", "int4", "bool"])
                for erow in expiry:
                    copy.write_row(erow)
            conn.commit()

    def finish_fill(self) -> None:
        # Autovacuum would have analysed and vacuumed tables this size by the time a server
        # restarts; without statistics the planner guesses from the table's size alone.
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for name in (self.table, self.expiry_table):
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(name)))
            # Write the load's dirty buffers out now rather than while servers are measured.
            conn.execute("CHECKPOINT")

    def size_bytes(self) -> int:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size(%s::regclass)"
                " + pg_total_relation_size(%s::regclass)",
                (self.table, self.expiry_table),
            ).fetchone()
        return 0 if row is None else int(row[0])

    def expiry_row(self, key: str) -> ExpiryRow | None:
        query = sql.SQL(
            "SELECT key, kind, mount, expire_at, claimed_until, attempts, irrevocable"
            " FROM {} WHERE key = %s"
        ).format(sql.Identifier(self.expiry_table))
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(query, (key,)).fetchone()
        if row is None:
            return None
        return (str(row[0]), str(row[1]), str(row[2]), float(row[3]), float(row[4]),
                int(row[5]), bool(row[6]))  # fmt: skip

    def cleanup(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}, {}").format(
                    sql.Identifier(self.table), sql.Identifier(self.expiry_table)
                )
            )
            changes = sql.Identifier(f"{self.table}_changes")
            conn.execute(sql.SQL("DROP SEQUENCE IF EXISTS {}").format(changes))


def pg_unreachable(dsn: str) -> str | None:
    """None if PostgreSQL answers at `dsn`, else the first line of the driver's complaint."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return (str(exc).splitlines() or [type(exc).__name__])[0]
    return None
