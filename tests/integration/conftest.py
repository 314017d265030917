"""Fixtures that run real `awsbroker server` processes on loopback.

- `dev_server` / `root_client`: one dev-mode server per test module (root token "root").
- `servers`: a factory of config-file servers (SQLite or PostgreSQL storage) for tests that need
  a fresh, uninitialised or sealed server, or one they can stop and start again;
  `module_servers` is the same for servers shared by the tests of one module.
- `moto` / `proxy`: moto on loopback and the recording proxy in front of it, per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from tests.support.server import ROOT_TOKEN, ServerFactory, ServerProcess, running
from tests.support.server import dev_server as make_dev_server


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A dev-mode server shared by one test module: in-memory, unsealed, `aws/` mounted."""
    with running(make_dev_server(tmp_path_factory.mktemp("dev"))) as server:
        yield server


@pytest.fixture(scope="module")
def root_client(dev_server: ServerProcess) -> hvac.Client:
    return dev_server.client(ROOT_TOKEN)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Like `servers`, for servers shared by the tests of one module."""
    factory = ServerFactory(tmp_path_factory.mktemp("servers"))
    try:
        yield factory
    finally:
        factory.close()
