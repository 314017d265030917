"""Fixtures of the reliability tests: real broker processes (SQLite or PostgreSQL storage)
against moto behind the recording, fault-injecting proxy.

Each test gets a fresh moto and proxy (`aws`) and a factory of config-file servers (`servers`)
that stops every process it started and closes every client it handed out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import pg_cluster
from tests.support.pg_cluster import PgCluster
from tests.support.reliability import AWSWorld
from tests.support.server import ServerFactory


@pytest.fixture
def aws() -> Iterator[AWSWorld]:
    # Moto's werkzeug server logs every request to stderr; the proxy records them instead.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    world = AWSWorld()
    try:
        world.start()
        yield world
    finally:
        world.stop()
        werkzeug.setLevel(level)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def private_pg() -> Iterator[PgCluster]:
    """A private PostgreSQL cluster, which a test may stop and start; fails (never skips)
    where none can be made."""
    reason = pg_cluster.missing_reason()
    if reason is not None:
        pytest.fail(f"cannot make a private PostgreSQL cluster: {reason}", pytrace=False)
    with PgCluster() as made:
        yield made
