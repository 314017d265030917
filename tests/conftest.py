"""Shared fixtures. PostgreSQL logic lives in `tests/support/postgres.py`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support import postgres
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer


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


# AWS played by moto on loopback, and the recording proxy a broker is pointed at (per module):
# the integration tests' and the engine's rotation unit tests'.
@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(moto: MotoServer) -> Iterator[AWSProxy]:
    with AWSProxy(moto.endpoint) as recorder:
        yield recorder
