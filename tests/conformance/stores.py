"""The physical stores under contract, each opened as several handles on one store: the same
object for inmem, a new connection (as another process would have) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from awsbroker.physical.inmem import InmemStorage
from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage

Store = InmemStorage | SQLiteStorage | PostgreSQLStorage
Opener = Callable[[], Store]
KINDS = ["inmem", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def physical_opener(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens handles on one fresh store of `kind`; closes them after the test."""
    opened: list[SQLiteStorage | PostgreSQLStorage] = []
    if kind == "inmem":
        inmem = InmemStorage()
        yield lambda: inmem
        return

    def open_sqlite() -> Store:
        opened.append(SQLiteStorage(str(tmp_path / "kv.db")))
        return opened[-1]

    def open_postgresql() -> Store:
        opened.append(PostgreSQLStorage(dsn, table=table, min_size=1, max_size=4))
        return opened[-1]

    if kind == "sqlite":
        yield open_sqlite
    else:
        dsn: str = request.getfixturevalue("pg_dsn")
        table: str = request.getfixturevalue("pg_table")
        yield open_postgresql
    for store in opened:
        store.close()
