"""The `socket` device's sink against real loopback listeners: TCP, UDP, reconnects."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from awsbroker.audit.socket_sink import SocketSink
from awsbroker.sdk.errors import InvalidRequest


class LineServer:
    """A TCP listener on loopback that keeps what each connection sent."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []

    def accept(self) -> socket.socket:
        self.listener.settimeout(5)
        conn, _ = self.listener.accept()
        conn.settimeout(5)
        self.connections.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.listener.close()


def read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def server() -> Iterator[LineServer]:
    s = LineServer()
    try:
        yield s
    finally:
        s.close()


def test_tcp_lines_arrive_on_one_connection(server: LineServer) -> None:
    sink = SocketSink(f"127.0.0.1:{server.port}")
    sink.write(b"one\n")
    conn = server.accept()
    assert read_line(conn) == b"one\n"
    sink.write(b"two\n")
    assert read_line(conn) == b"two\n"
    sink.close()


def test_a_closed_peer_is_noticed_and_the_next_line_goes_on_a_new_connection(
    server: LineServer,
) -> None:
    sink = SocketSink(f"127.0.0.1:{server.port}")
    sink.write(b"one\n")
    first = server.accept()
    assert read_line(first) == b"one\n"
    first.close()
    received: list[bytes] = []
    accepting = threading.Thread(target=lambda: received.append(read_line(server.accept())))
    accepting.start()
    sink.write(b"two\n")
    accepting.join(timeout=5)
    assert received == [b"two\n"]
    sink.close()


def test_nobody_listening_is_an_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    sink = SocketSink(f"127.0.0.1:{port}", write_timeout=1.0)
    with pytest.raises(ConnectionRefusedError):
        sink.write(b"lost\n")


def test_udp_datagrams() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        sink = SocketSink.from_options({"address": f"127.0.0.1:{port}", "socket_type": "udp"})
        sink.write(b"datagram\n")
        assert receiver.recv(4096) == b"datagram\n"
        sink.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "address is required"),
        ({"address": "nohost"}, "HOST:PORT"),
        ({"address": "127.0.0.1:1", "socket_type": "sctp"}, "tcp or udp"),
        ({"address": "127.0.0.1:1", "write_timeout": "soon"}, "write_timeout"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        SocketSink.from_options(options)
