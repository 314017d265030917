"""The composition root's choice of where AWS calls run."""

from __future__ import annotations

import pytest

from awsbroker.engines.aws.call_process import CallPool, default_processes
from awsbroker.server.compose import call_pool
from awsbroker.server.config import ServerConfig


def test_zero_call_processes_keeps_aws_calls_in_the_server() -> None:
    assert call_pool(ServerConfig(aws_call_processes=0)) is None


@pytest.mark.parametrize(("setting", "processes"), [(3, 3), (None, default_processes())])
def test_call_processes_make_a_pool_of_that_size(setting: int | None, processes: int) -> None:
    pool = call_pool(ServerConfig(aws_call_processes=setting))
    assert isinstance(pool, CallPool)
    assert pool.processes == processes
    assert pool.pids() == []  # started on the first AWS call, not here
    pool.close()


def test_the_default_is_one_per_core_from_two_to_four(monkeypatch: pytest.MonkeyPatch) -> None:
    for cores, processes in [(1, 2), (2, 2), (3, 3), (16, 4), (None, 2)]:
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        assert default_processes() == processes
