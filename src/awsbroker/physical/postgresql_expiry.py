"""The `ExpiryIndex` half of `PostgreSQLStorage`: table `<table>_expiry` beside the KV table.

    <table>_expiry (key TEXT COLLATE "C" PRIMARY KEY, kind TEXT, mount TEXT,
                    expire_at DOUBLE PRECISION, claimed_until DOUBLE PRECISION DEFAULT 0,
                    attempts INTEGER DEFAULT 0, irrevocable BOOLEAN DEFAULT FALSE)
    <table>_expiry_due          ON (expire_at, key)                   -- claim
    <table>_expiry_irrevocable  ON (expire_at, key) WHERE irrevocable -- irrevocable listing

`claim` is one statement: the subquery locks the due, unclaimed rows it picks with
`FOR UPDATE SKIP LOCKED` and the outer UPDATE marks them claimed. A row another transaction
has locked is skipped, and one it has already marked fails the `claimed_until` recheck, so
processes sharing the table never claim the same entry. `claimed_until` is in no index, so a
claim can be a heap-only (HOT) update that touches no index.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from awsbroker.physical._expiry import DUE_COLUMNS, due_entry, earliest_first
from awsbroker.sdk.expiry import KIND_JOB, DueEntry

Conn = psycopg.Connection[TupleRow]

# Appended to the KV table's name; the longest derived identifier must fit PostgreSQL's 63.
EXPIRY_SUFFIX = "_expiry"
_INDEX_SUFFIXES = ("_due", "_irrevocable")
NAME_HEADROOM = len(EXPIRY_SUFFIX) + max(len(s) for s in _INDEX_SUFFIXES)

_CREATE = (
    "CREATE TABLE IF NOT EXISTS {t} ("
    ' key TEXT COLLATE "C" PRIMARY KEY,'
    " kind TEXT NOT NULL,"
    " mount TEXT NOT NULL,"
    " expire_at DOUBLE PRECISION NOT NULL,"
    " claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " irrevocable BOOLEAN NOT NULL DEFAULT FALSE)"
)
_CREATE_DUE = "CREATE INDEX IF NOT EXISTS {due} ON {t} (expire_at, key)"
_CREATE_IRREVOCABLE = (
    "CREATE INDEX IF NOT EXISTS {irrevocable} ON {t} (expire_at, key) WHERE irrevocable"
)
_SCHEDULE = (
    "INSERT INTO {t} (key, kind, mount, expire_at, claimed_until, attempts, irrevocable)"
    " VALUES (%s, %s, %s, %s, 0, %s, %s)"
    " ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, mount = EXCLUDED.mount,"
    " expire_at = EXCLUDED.expire_at, claimed_until = 0, attempts = EXCLUDED.attempts,"
    " irrevocable = EXCLUDED.irrevocable"
)
_UNSCHEDULE = "DELETE FROM {t} WHERE key = %s"
_CLAIM = (
    "UPDATE {t} SET claimed_until = %s WHERE key IN ("
    " SELECT key FROM {t} WHERE expire_at <= %s AND claimed_until <= %s"
    " ORDER BY expire_at, key LIMIT %s FOR UPDATE SKIP LOCKED)"
    " RETURNING {columns}"
)
_COUNT = "SELECT count(*) FROM {t}"
# Literal `irrevocable` / `NOT irrevocable` (never a parameter) lets the planner use the
# partial index.
_IRREVOCABLE = {True: "irrevocable", False: "NOT irrevocable"}
_COUNT_BY_MOUNT = "SELECT mount, count(*) FROM {t} WHERE {cond} GROUP BY mount"
_JOBS = "SELECT {columns} FROM {t} WHERE kind = %s AND mount = %s"
_IRREVOCABLE_KEYS = "SELECT key FROM {t} WHERE irrevocable ORDER BY expire_at, key LIMIT %s"


class PostgreSQLExpiry:
    """Mixin: `ExpiryIndex` over `<table>_expiry`, on the pool of the class that mixes it in.

    That class calls `_init_expiry(table)` first and `_create_expiry(conn)` inside its
    creation transaction, and provides `_connection()`, which maps driver errors to
    `StorageUnavailable` (server out of reach) or `InternalError`, both "storage unavailable".
    """

    expiry_table: str

    def _connection(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError

    def _init_expiry(self, table: str) -> None:
        self.expiry_table = table + EXPIRY_SUFFIX
        t = sql.Identifier(self.expiry_table)
        self._expiry_create = (
            sql.SQL(_CREATE).format(t=t),
            sql.SQL(_CREATE_DUE).format(t=t, due=sql.Identifier(self.expiry_table + "_due")),
            sql.SQL(_CREATE_IRREVOCABLE).format(
                t=t, irrevocable=sql.Identifier(self.expiry_table + "_irrevocable")
            ),
        )
        self._expiry_schedule = sql.SQL(_SCHEDULE).format(t=t)
        self._expiry_unschedule = sql.SQL(_UNSCHEDULE).format(t=t)
        self._expiry_claim = sql.SQL(_CLAIM).format(t=t, columns=sql.SQL(DUE_COLUMNS))
        self._expiry_count = sql.SQL(_COUNT).format(t=t)
        self._expiry_by_mount = {
            flag: sql.SQL(_COUNT_BY_MOUNT).format(t=t, cond=sql.SQL(cond))
            for flag, cond in _IRREVOCABLE.items()
        }
        self._expiry_irrevocable_keys = sql.SQL(_IRREVOCABLE_KEYS).format(t=t)
        self._expiry_jobs = sql.SQL(_JOBS).format(t=t, columns=sql.SQL(DUE_COLUMNS))

    def _create_expiry(self, conn: Conn) -> None:
        for statement in self._expiry_create:
            conn.execute(statement)

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
        params = (key, kind, mount, float(expire_at), attempts, bool(irrevocable))
        with self._connection() as conn:
            conn.execute(self._expiry_schedule, params)

    def unschedule(self, key: str) -> None:
        with self._connection() as conn:
            conn.execute(self._expiry_unschedule, (key,))

    def claim(self, now: float, limit: int, claim_for: float) -> list[DueEntry]:
        if limit < 1:
            return []
        params = (float(now + claim_for), float(now), float(now), limit)
        with self._connection() as conn:
            rows = conn.execute(self._expiry_claim, params).fetchall()
        return earliest_first([due_entry(row) for row in rows])

    def count(self, *, kind: str | None = None, irrevocable: bool | None = None) -> int:
        where: list[sql.Composable] = []
        params: list[str] = []
        if kind is not None:
            where.append(sql.SQL("kind = %s"))
            params.append(kind)
        if irrevocable is not None:
            where.append(sql.SQL(_IRREVOCABLE[irrevocable]))
        query: sql.Composed = self._expiry_count
        if where:
            query = query + sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where)
        with self._connection() as conn:
            row = conn.execute(query, params).fetchone()
        return 0 if row is None else int(row[0])

    def count_by_mount(self, *, irrevocable: bool) -> dict[str, int]:
        with self._connection() as conn:
            rows = conn.execute(self._expiry_by_mount[irrevocable]).fetchall()
        return {str(mount): int(n) for mount, n in rows}

    def irrevocable_keys(self, limit: int) -> list[str]:
        if limit < 1:
            return []
        with self._connection() as conn:
            rows = conn.execute(self._expiry_irrevocable_keys, (limit,)).fetchall()
        return [str(row[0]) for row in rows]

    def jobs(self, mount: str) -> list[DueEntry]:
        with self._connection() as conn:
            rows = conn.execute(self._expiry_jobs, (KIND_JOB, mount)).fetchall()
        return [due_entry(row) for row in rows]
