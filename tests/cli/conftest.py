"""The installed `awsbroker` command against real servers on loopback.

- `dev`: one dev-mode server per module (root token "root"), `cli`: the command pointed at it
  with the root token in its token file (as `awsbroker server --dev` leaves it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli import CLI
from tests.support.server import ROOT_TOKEN, ServerProcess, running
from tests.support.server import dev_server as make_dev_server


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running(make_dev_server(tmp_path_factory.mktemp("dev"))) as server:
        yield server


@pytest.fixture
def cli(dev: ServerProcess, tmp_path: Path) -> CLI:
    command = CLI(tmp_path / "home", {"AWSBROKER_ADDR": dev.url})
    Path(command.env["AWSBROKER_TOKEN_FILE"]).write_text(ROOT_TOKEN)
    return command
