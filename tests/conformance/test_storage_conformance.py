"""Every physical backend passes the storage contract, and the durable ones persist."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance.storage_contract import CHECKS, Check

from awsbroker.physical.inmem import InmemStorage
from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage
from awsbroker.sdk.storage import Storage


@pytest.fixture(
    params=["inmem", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "inmem":
        yield InmemStorage()
        return
    if request.param == "sqlite":
        sqlite = SQLiteStorage(str(tmp_path / "kv.db"))
        yield sqlite
        sqlite.close()
        return
    dsn: str = request.getfixturevalue("pg_dsn")
    pg = PostgreSQLStorage(dsn, table=request.getfixturevalue("pg_table"))
    yield pg
    pg.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract(storage: Storage, check: Check) -> None:
    check(storage)


def _assert_populated(s: Storage) -> None:
    assert s.get("core/seal") == b"\x00sealed\xff"
    assert s.get("logical/gone") is None
    assert s.list("") == ["core/", "logical/"]
    assert s.list("logical/") == ["abc"]


def _populate(s: Storage) -> None:
    s.put("core/seal", b"\x00sealed\xff")
    s.put("logical/abc", b"x")
    s.put("logical/gone", b"y")
    s.delete("logical/gone")


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "kv.db")
    first = SQLiteStorage(path)
    _populate(first)
    first.close()
    second = SQLiteStorage(path)
    try:
        _assert_populated(second)
    finally:
        second.close()


@pytest.mark.postgres
def test_postgresql_survives_reopen(pg_dsn: str, pg_table: str) -> None:
    first = PostgreSQLStorage(pg_dsn, table=pg_table)
    _populate(first)
    first.close()
    second = PostgreSQLStorage(pg_dsn, table=pg_table)
    try:
        _assert_populated(second)
    finally:
        second.close()
