from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.sdk.errors import InternalError

# Nothing listens on port 1: connections are refused at once.
UNREACHABLE = "postgresql://broker:s3cret-pw@127.0.0.1:1/awsbroker"


@pytest.mark.parametrize(
    "table",
    ["", "1kv", "kv-store", 'kv"', "kv; DROP TABLE x", "public.kv", "kv ", "k" * 64, "ключ"],
)
def test_bad_table_name_is_rejected_before_connecting(table: str) -> None:
    with pytest.raises(ValueError, match="invalid table name"):
        PostgreSQLStorage(UNREACHABLE, table=table)


def test_unreachable_server_is_internal_error_without_the_dsn() -> None:
    with pytest.raises(InternalError) as caught:
        PostgreSQLStorage(UNREACHABLE, timeout=0.5)
    err = caught.value
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
