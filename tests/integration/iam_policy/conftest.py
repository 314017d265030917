"""One moto process (IAM checks on), one recording proxy before it, and one dev server per
module; `world.build` gives each test a fresh moto, a fresh `aws/` mount and a broker user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.aws.support import Broker
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_process import MotoProcess
from tests.support.server import ROOT_TOKEN, dev_server, running


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoProcess]:
    with MotoProcess(tmp_path_factory.mktemp("moto") / "moto.log") as moto:
        yield moto


@pytest.fixture(scope="module")
def proxy(moto: MotoProcess) -> Iterator[AWSProxy]:
    with AWSProxy(moto.endpoint) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with running(dev_server(tmp_path_factory.mktemp("broker"))) as server:
        yield Broker(server, server.client(ROOT_TOKEN))
