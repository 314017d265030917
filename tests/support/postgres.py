"""PostgreSQL for tests: where it is, whether it answers, and throwaway tables."""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn() -> str:
    """The DSN from `AWSBROKER_TEST_PG_DSN`, else the local default."""
    return os.environ.get("AWSBROKER_TEST_PG_DSN") or DEFAULT_DSN


def describe(conninfo: str) -> str:
    """`host:port/dbname` of a DSN, never its password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<unparseable AWSBROKER_TEST_PG_DSN>"
    host = parts.get("host", "localhost")
    port = parts.get("port", "5432")
    return f"{host}:{port}/{parts.get('dbname', '')}"


def unreachable_reason(conninfo: str) -> str | None:
    """None if a connection succeeds, else the driver's complaint (first line)."""
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def require_server(conninfo: str) -> str:
    """Return the DSN if PostgreSQL answers; else fail under `CI`, skip elsewhere."""
    reason = unreachable_reason(conninfo)
    if reason is None:
        return conninfo
    where = describe(conninfo)
    if os.environ.get("CI"):
        pytest.fail(
            f"PostgreSQL not reachable at {where} ({reason}); CI is set, so PostgreSQL "
            "tests must run: start it or set AWSBROKER_TEST_PG_DSN",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL not reachable at {where}: set AWSBROKER_TEST_PG_DSN or start it")


def fresh_table_name() -> str:
    return f"awsbroker_test_{secrets.token_hex(6)}"


def drop_table(conninfo: str, table: str) -> None:
    """Drop a store's tables: the key-value table, and beside it `<table>_expiry` (the expiry
    index) and the sequence `<table>_changes` (the change count)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [sql.Identifier(table), sql.Identifier(f"{table}_expiry")]
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(", ").join(tables)))
        conn.execute(
            sql.SQL("DROP SEQUENCE IF EXISTS {}").format(sql.Identifier(f"{table}_changes"))
        )
