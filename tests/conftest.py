"""Shared fixtures. PostgreSQL logic lives in `tests/support/postgres.py`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support import postgres


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A reachable PostgreSQL DSN; skips (or fails under `CI`) when there is none."""
    return postgres.require_server(postgres.dsn())


@pytest.fixture
def pg_table(pg_dsn: str) -> Iterator[str]:
    """A fresh table name, dropped after the test."""
    table = postgres.fresh_table_name()
    yield table
    postgres.drop_table(pg_dsn, table)
