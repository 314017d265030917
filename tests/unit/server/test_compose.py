"""The composition root: where AWS calls run, and what the node says of itself."""

from __future__ import annotations

import pytest

from awsbroker.engines.aws.call_process import CallPool, default_processes
from awsbroker.server.compose import build, call_pool
from awsbroker.server.config import Listener, ServerConfig


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


def test_the_node_gives_the_listeners_url_unless_api_addr_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "node-7")
    listener = Listener(address="0.0.0.0:8200", tls_disable=True)
    derived = build(ServerConfig(listener=listener, aws_call_processes=0))
    given = build(
        ServerConfig(
            listener=listener,
            api_addr="https://broker-1.example.com",
            cluster_addr="https://broker-1.example.com:8201",
            node_dead_after=5,
            aws_call_processes=0,
        )
    )
    try:
        assert derived.core.nodes.api_address == "http://node-7:8200"
        assert derived.core.nodes.cluster_address == ""
        assert derived.core.nodes.dead_after == 30
        assert given.core.nodes.api_address == "https://broker-1.example.com"
        assert given.core.nodes.cluster_address == "https://broker-1.example.com:8201"
        assert given.core.nodes.dead_after == 5
    finally:
        derived.close()
        given.close()
