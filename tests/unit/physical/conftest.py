"""Physical-store fixtures. `pg_table` here also drops the expiry table beside the KV table."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql


@pytest.fixture
def pg_table(pg_table: str, pg_dsn: str) -> Iterator[str]:
    """The shared `pg_table`, plus `<table>_expiry` dropped after the test."""
    yield pg_table
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{pg_table}_expiry"))
        )
