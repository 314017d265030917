"""Fixtures shared by the engine's rotation tests: moto in process, and the recording proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import MotoServer


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(moto: MotoServer) -> Iterator[AWSProxy]:
    with AWSProxy(moto.endpoint) as recorder:
        yield recorder
