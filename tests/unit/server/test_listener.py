"""The listener: its start-up checks (an address already listened on is refused with a message),
and the settings it gives granian (HTTP/1.1, hyper's timer, the connection cap)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from granian.constants import HTTPModes
from granian.http import HTTP1Settings

from awsbroker.server import listener as listener_module
from awsbroker.server.config import Listener
from awsbroker.server.listener import (
    MIN_CONNECTIONS,
    RESERVED_FILES,
    ListenError,
    check_free,
    http1_settings,
    max_connections,
    serve,
)


def test_a_free_address_passes_and_stays_free() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
    check_free(Listener(address=f"127.0.0.1:{port}", tls_disable=True))
    with socket.socket() as again:  # the probe did not keep the port
        again.bind(("127.0.0.1", port))


@pytest.mark.parametrize("reuse_port", [False, True])
def test_an_address_someone_listens_on_is_refused(reuse_port: bool) -> None:
    # SO_REUSEPORT is how our own HTTP server binds: a second awsbroker must not share it.
    with socket.socket() as holder:
        if reuse_port:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        refused = f"cannot listen on {address}: Address already in use"
        with pytest.raises(ListenError, match=refused):
            check_free(Listener(address=address, tls_disable=True))


def test_hyper_times_the_request_head_and_the_idle_wait_before_it_with_one_timer() -> None:
    assert http1_settings(Listener(tls_disable=True)).header_read_timeout == 10_000
    assert http1_settings(Listener(tls_disable=True)).keep_alive is True
    shorter_idle = Listener(tls_disable=True, http_read_header_timeout=20, http_idle_timeout=5)
    assert http1_settings(shorter_idle).header_read_timeout == 5_000


def test_connections_leave_room_for_the_servers_own_files() -> None:
    assert max_connections(20_000) == 20_000 - RESERVED_FILES == 19_744
    assert max_connections(1024) == 1024 - 256
    assert max_connections(200) == 150  # a quarter of a small limit is kept
    assert max_connections(20) == MIN_CONNECTIONS == 16


def test_the_open_files_limit_is_raised_to_the_hard_one() -> None:
    # In a child process: the limit is the process's own.
    code = (
        "import resource\n"
        "from awsbroker.server.listener import raise_open_files_limit\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 300))\n"
        "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(None, 1) == ["300", "(300, 300)\n"]


def test_granian_gets_http1_only_the_timer_and_the_connection_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HTTP/1.1 only: granian's HTTP/2, and its sniffing of the HTTP/2 preface on plain
    connections, have no timeout."""
    made: dict[str, object] = {}

    class FakeGranian:
        def __init__(self, app: object, **settings: object) -> None:
            made.update(settings)

        async def serve(self) -> None:
            return None

    monkeypatch.setattr(listener_module, "Granian", FakeGranian)
    monkeypatch.setattr(listener_module, "raise_open_files_limit", lambda: 1000)
    serve(lambda scope, receive, send: None, Listener(address="127.0.0.1:1", tls_disable=True))  # type: ignore[arg-type,return-value]
    assert made["http"] is HTTPModes.http1
    assert made["backpressure"] == max_connections(1000) == 750
    settings = made["http1_settings"]
    assert isinstance(settings, HTTP1Settings)
    assert settings.header_read_timeout == 10_000
