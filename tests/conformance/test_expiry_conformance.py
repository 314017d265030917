"""Every physical backend passes the expiry-index contract, and the durable ones persist."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conformance.expiry_contract import CHECKS, SHARED_CHECKS, Check, SharedCheck
from tests.conformance.stores import Opener

from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage
from awsbroker.sdk.expiry import KIND_LEASE, KIND_TOKEN, DueEntry, ExpiryIndex
from awsbroker.sdk.storage import Storage

SHARED_HANDLES = 4


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract(opener: Opener, check: Check) -> None:
    check(opener())


@pytest.mark.parametrize("check", SHARED_CHECKS, ids=lambda c: c.__name__)
def test_shared_contract(opener: Opener, check: SharedCheck) -> None:
    check([opener() for _ in range(SHARED_HANDLES)])


def test_one_object_is_both_storage_and_expiry_index(opener: Opener) -> None:
    store = opener()
    kv: Storage = store
    ix: ExpiryIndex = store
    kv.put("lease/x", b"v")
    ix.schedule("lease/x", KIND_LEASE, 1.0)
    kv.delete("lease/x")
    assert kv.list("") == []
    assert ix.count() == 1
    ix.unschedule("lease/x")
    assert kv.get("lease/x") is None
    assert ix.count() == 0


def _populate(ix: ExpiryIndex) -> None:
    ix.schedule("lease/a", KIND_LEASE, 10.0, mount="aws/", attempts=2)
    ix.schedule("lease/b", KIND_LEASE, 20.0, mount="aws/", irrevocable=True)
    ix.schedule("token/c", KIND_TOKEN, 30.0)
    ix.schedule("gone", KIND_TOKEN, 5.0)
    ix.unschedule("gone")
    assert [e.key for e in ix.claim(25.0, 1, 100.0)] == ["lease/a"]  # held until 125


def _assert_populated(ix: ExpiryIndex) -> None:
    assert ix.count() == 3
    assert ix.count_by_mount(irrevocable=False) == {"aws/": 1, "": 1}
    assert ix.irrevocable_keys(10) == ["lease/b"]
    assert ix.claim(30.0, 10, 100.0) == [
        DueEntry("lease/b", KIND_LEASE, "aws/", 20.0, 0, True),
        DueEntry("token/c", KIND_TOKEN, "", 30.0, 0, False),
    ]
    assert ix.claim(125.0, 10, 100.0) == [DueEntry("lease/a", KIND_LEASE, "aws/", 10.0, 2, False)]


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
