from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from tests.support import postgres

from awsbroker.physical.postgresql import (
    CONNECT_TIMEOUT,
    MAX_TABLE_NAME,
    PostgreSQLStorage,
    _connect_kwargs,
)
from awsbroker.sdk.errors import InternalError, StorageUnavailable
from awsbroker.sdk.expiry import KIND_LEASE

# Nothing listens on port 1: connections are refused at once.
UNREACHABLE = "postgresql://broker:s3cret-pw@127.0.0.1:1/awsbroker"


@pytest.mark.parametrize(
    "table",
    [
        "",
        "1kv",
        "kv-store",
        'kv"',
        "kv; DROP TABLE x",
        "public.kv",
        "kv ",
        "k" * 64,
        "k" * (MAX_TABLE_NAME + 1),
        "ключ",
    ],
)
def test_bad_table_name_is_rejected_before_connecting(table: str) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        PostgreSQLStorage(UNREACHABLE, table=table)


def test_unreachable_server_is_storage_unavailable_without_the_dsn() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        PostgreSQLStorage(UNREACHABLE, timeout=0.5)
    err = caught.value
    assert isinstance(err, InternalError)  # handled wherever an InternalError is
    assert err.messages == ["storage unavailable"]
    assert "s3cret-pw" not in str(err)
    assert "127.0.0.1" not in str(err)
    assert isinstance(err.__cause__, psycopg.Error)


@pytest.fixture
def pg(pg_dsn: str, pg_table: str) -> Iterator[PostgreSQLStorage]:
    storage = PostgreSQLStorage(pg_dsn, table=pg_table, min_size=1, max_size=2)
    yield storage
    storage.close()


@pytest.mark.postgres
def test_key_column_is_c_collated_primary_key(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type, collation_name, is_nullable"
            " FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (pg.table,),
        ).fetchall()
    assert rows == [("key", "text", "C", "NO"), ("value", "bytea", None, "NO")]


@pytest.mark.postgres
def test_list_can_use_the_primary_key_index(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        query = sql.SQL("EXPLAIN ") + pg._list_range
        plan = " ".join(str(r[0]) for r in conn.execute(query, ("a/", "a0")).fetchall())
    assert "Index" in plan
    assert f"{pg.table}_pkey" in plan


@pytest.mark.postgres
def test_driver_error_is_internal_error_without_the_dsn(
    pg: PostgreSQLStorage, pg_dsn: str, pg_table: str
) -> None:
    pg.put("k", b"v")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(pg_table)))
    with pytest.raises(InternalError) as caught:
        pg.get("k")
    assert caught.value.messages == ["storage unavailable"]
    assert pg_dsn not in str(caught.value)
    assert isinstance(caught.value.__cause__, psycopg.errors.UndefinedTable)
    # A missing table is not an outage: retrying will not help.
    assert not isinstance(caught.value, StorageUnavailable)


@pytest.mark.parametrize(
    ("dsn", "timeout"),
    [
        ("postgresql://broker@db/awsbroker", CONNECT_TIMEOUT),
        ("postgresql://broker@db/awsbroker?connect_timeout=20", None),
        ("host=db user=broker connect_timeout=2", None),
    ],
)
def test_connections_time_out_unless_the_dsn_says_otherwise(dsn: str, timeout: int | None) -> None:
    kwargs = _connect_kwargs(dsn)
    assert kwargs.get("autocommit") is True
    assert kwargs.get("connect_timeout") == timeout


@pytest.mark.postgres
def test_closed_storage_raises_internal_error(pg_dsn: str, pg_table: str) -> None:
    storage = PostgreSQLStorage(pg_dsn, table=pg_table)
    storage.close()
    storage.close()
    with pytest.raises(InternalError, match=r"^storage unavailable$"):
        storage.put("k", b"v")


@pytest.mark.postgres
def test_existing_table_is_reused(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    pg.put("k", b"v")
    again = PostgreSQLStorage(pg_dsn, table=pg.table)
    try:
        assert again.get("k") == b"v"
    finally:
        again.close()


# ---- the expiry table ---------------------------------------------------------------------


def _drop(dsn: str, *tables: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


def test_longest_table_name_leaves_room_for_the_expiry_identifiers() -> None:
    assert MAX_TABLE_NAME + len("_expiry_irrevocable") == 63


@pytest.mark.postgres
def test_expiry_table_schema(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    assert pg.expiry_table == f"{pg.table}_expiry"
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type, collation_name, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (pg.expiry_table,),
        ).fetchall()
    assert rows == [
        ("key", "text", "C", "NO", None),
        ("kind", "text", None, "NO", None),
        ("mount", "text", None, "NO", None),
        ("expire_at", "double precision", None, "NO", None),
        ("claimed_until", "double precision", None, "NO", "0"),
        ("attempts", "integer", None, "NO", "0"),
        ("irrevocable", "boolean", None, "NO", "false"),
    ]


@pytest.mark.postgres
def test_longest_table_name_gets_untruncated_expiry_identifiers(pg_dsn: str, pg_table: str) -> None:
    table = (pg_table + "_" + "x" * MAX_TABLE_NAME)[:MAX_TABLE_NAME]
    try:
        storage = PostgreSQLStorage(pg_dsn, table=table)
        storage.schedule("k", KIND_LEASE, 1.0)
        storage.close()
        with psycopg.connect(pg_dsn) as conn:
            indexes = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                " ORDER BY indexname",
                (f"{table}_expiry",),
            ).fetchall()
    finally:
        postgres.drop_table(pg_dsn, table)
    assert [name for name, _ in indexes] == [
        f"{table}_expiry_due",
        f"{table}_expiry_irrevocable",
        f"{table}_expiry_pkey",
    ]
    assert indexes[0][1].endswith("(expire_at, key)")
    assert indexes[1][1].endswith("(expire_at, key) WHERE irrevocable")


@pytest.mark.postgres
def test_claim_can_use_the_due_index(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        query = sql.SQL("EXPLAIN ") + pg._expiry_claim
        plan = " ".join(
            str(r[0]) for r in conn.execute(query, (160.0, 100.0, 100.0, 50)).fetchall()
        )
    assert f"{pg.expiry_table}_due" in plan  # an index or bitmap scan, by table size
    assert "LockRows" in plan


@pytest.mark.postgres
def test_irrevocable_listing_can_use_the_partial_index(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("SET enable_seqscan = off")
        query = sql.SQL("EXPLAIN ") + pg._expiry_irrevocable_keys
        plan = " ".join(str(r[0]) for r in conn.execute(query, (10,)).fetchall())
    assert f"{pg.expiry_table}_irrevocable" in plan


@pytest.mark.postgres
def test_claim_skips_rows_another_transaction_holds(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    for key in ("a", "b", "c"):
        pg.schedule(key, KIND_LEASE, 1.0)
    locked = sql.SQL("SELECT key FROM {} WHERE key = 'a' FOR UPDATE").format(
        sql.Identifier(pg.expiry_table)
    )
    with psycopg.connect(pg_dsn) as other:
        other.execute(locked)  # a transaction holds row a, as a concurrent claim would
        assert [e.key for e in pg.claim(10.0, 10, 60.0)] == ["b", "c"]
        other.rollback()
    assert [e.key for e in pg.claim(10.0, 10, 60.0)] == ["a"]


@pytest.mark.postgres
def test_claim_skips_a_row_another_claimer_is_marking(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    pg.schedule("a", KIND_LEASE, 1.0)
    pg.schedule("b", KIND_LEASE, 2.0)
    mark = sql.SQL("UPDATE {} SET claimed_until = 1000 WHERE key = 'a'").format(
        sql.Identifier(pg.expiry_table)
    )
    with psycopg.connect(pg_dsn) as other:
        other.execute(mark)
        assert [e.key for e in pg.claim(10.0, 10, 60.0)] == ["b"]
        other.commit()
    assert pg.claim(69.0, 10, 60.0) == []  # a is held until 1000, b until 70
    assert [e.key for e in pg.claim(70.0, 10, 60.0)] == ["b"]
    assert [e.key for e in pg.claim(1000.0, 10, 60.0)] == ["a", "b"]


@pytest.mark.postgres
def test_concurrent_first_opens_create_both_tables_once(pg_dsn: str, pg_table: str) -> None:
    barrier = threading.Barrier(4)
    opened: list[PostgreSQLStorage] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            barrier.wait()
            opened.append(PostgreSQLStorage(pg_dsn, table=pg_table, min_size=1, max_size=1))
        except BaseException as exc:  # re-raised below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for storage in opened:
        storage.close()
    assert errors == []
    assert len(opened) == 4


@pytest.mark.postgres
def test_expiry_driver_error_is_internal_error(pg: PostgreSQLStorage, pg_dsn: str) -> None:
    pg.schedule("k", KIND_LEASE, 1.0)
    _drop(pg_dsn, pg.expiry_table)
    with pytest.raises(InternalError) as caught:
        pg.claim(10.0, 10, 60.0)
    assert caught.value.messages == ["storage unavailable"]
    assert isinstance(caught.value.__cause__, psycopg.errors.UndefinedTable)


@pytest.mark.postgres
def test_closed_storage_expiry_calls_raise_internal_error(pg_dsn: str, pg_table: str) -> None:
    storage = PostgreSQLStorage(pg_dsn, table=pg_table)
    storage.close()
    with pytest.raises(InternalError, match=r"^storage unavailable$"):
        storage.claim(1.0, 1, 1.0)
    with pytest.raises(InternalError, match=r"^storage unavailable$"):
        storage.count()


@pytest.mark.postgres
def test_negative_limit_claims_nothing(pg: PostgreSQLStorage) -> None:
    pg.schedule("a", KIND_LEASE, 1.0)
    assert pg.claim(10.0, -1, 60.0) == []
    assert pg.irrevocable_keys(-1) == []
    assert pg.count() == 1
