"""Every physical backend passes the storage contract, and the durable ones persist."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conformance.storage_contract import CHECKS, SHARED_CHECKS, Check, SharedCheck
from tests.conformance.stores import KINDS, physical_opener

from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.physical.inmem import InmemStorage
from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage
from awsbroker.sdk.storage import Storage, View

SHARED_HANDLES = 4
Opener = Callable[[], Storage]


def _unsealed_barrier(physical: Storage) -> AESGCMBarrier:
    barrier = AESGCMBarrier(physical)
    kek = secrets.token_bytes(32)
    if not barrier.initialized():
        barrier.initialize(kek)
    barrier.unseal(kek)
    return barrier


@pytest.fixture(params=[*KINDS, "barrier"])
def storage_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """The physical stores, and a view of the AES-GCM barrier over an in-memory store (a view,
    as every user of the barrier has one: the keyring is not in the way)."""
    if request.param == "barrier":
        view = View(_unsealed_barrier(InmemStorage()), "conformance/")
        yield lambda: view
        return
    yield from physical_opener(request.param, request, tmp_path)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_contract(storage_opener: Opener, check: Check) -> None:
    check(storage_opener())


@pytest.mark.parametrize("check", SHARED_CHECKS, ids=lambda c: c.__name__)
def test_shared_contract(storage_opener: Opener, check: SharedCheck) -> None:
    check([storage_opener() for _ in range(SHARED_HANDLES)])


def test_barrier_compare_and_set_sees_a_rewrite_of_the_same_value() -> None:
    """Two writers that read the same plaintext: the second's write must fail even though the
    value it expects is still the plaintext stored (the ciphertext changed under it)."""
    physical = InmemStorage()
    barrier = _unsealed_barrier(physical)
    barrier.put("k", b"v")
    blob = physical.get("k")
    assert barrier.compare_and_set("k", b"v", b"v") is True
    assert physical.get("k") != blob  # a fresh nonce: same plaintext, new ciphertext
    assert barrier.get("k") == b"v"


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
