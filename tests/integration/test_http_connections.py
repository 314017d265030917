"""Connections at the socket level against real server processes: clients that go away in the
middle of a request, connections that stay idle, and many of them at once."""

from __future__ import annotations

import os
import selectors
import socket
import time

import requests
from tests.support.server import HOST, ROOT_TOKEN, ServerFactory, ServerProcess

GONE = "the client went away before sending the whole request body"


def wait_for_log(server: ServerProcess, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()
        if text in log:
            return log
        time.sleep(0.05)  # polling the log file of another process
    raise AssertionError(f"{text!r} not logged within {timeout}s:\n{server.log()[-3000:]}")


def test_a_client_gone_mid_body_is_one_info_line(dev_server: ServerProcess) -> None:
    """It was logged at ERROR with starlette's ClientDisconnect traceback."""
    head = (
        "POST /v1/sys/policies/acl/cut-short HTTP/1.1\r\n"
        f"Host: {HOST}:{dev_server.port}\r\nX-Vault-Token: {ROOT_TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((HOST, dev_server.port)) as sock:
        sock.sendall(head.encode() + b'{"policy": "path')
        time.sleep(0.3)  # the server is reading the body when the client goes
    log = wait_for_log(dev_server, GONE)
    lines = [line for line in log.splitlines() if GONE in line]
    assert len(lines) == 1
    assert "[INFO]" in lines[0]
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
    assert "[ERROR]" not in log
    assert dev_server.request("GET", "sys/health").status_code == 200


# ---- idle connections (a config server with short limits) --------------------------------------

HEADER_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
SHORT_LIMITS = {"http_read_header_timeout": "2s", "http_read_timeout": "3s"}


def connect(server: ServerProcess, first_bytes: bytes = b"") -> socket.socket:
    sock = socket.create_connection((HOST, server.port))
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def closed_after(
    socks: list[socket.socket], since: float, timeout: float, received: list[bytes] | None = None
) -> list[float]:
    """Seconds from `since` until the server closed each socket (after any answer it sent,
    added to `received`); fails if one is still open after `timeout`."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed: dict[socket.socket, float] = {}
    deadline = since + timeout
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data and received is not None:
                received.append(data)
            if not data:
                closed[sock] = time.monotonic() - since
                selector.unregister(sock)
    selector.close()
    assert len(closed) == len(socks), f"{len(socks) - len(closed)} connections still open"
    return [closed[sock] for sock in socks]


def health_seconds(server: ServerProcess) -> float:
    """One health check on a new connection: how long it took to be answered."""
    started = time.monotonic()
    with requests.Session() as session:
        answer = session.get(server.v1("sys/health"), headers={"Connection": "close"}, timeout=30)
    assert answer.status_code in (200, 501, 503)
    return time.monotonic() - started


def test_idle_connections_are_closed_and_others_served_meanwhile(servers: ServerFactory) -> None:
    """Connections that never sent a byte were never closed: 700 of them exhausted the file
    descriptors and health checks timed out."""
    server = servers.sqlite(listener=SHORT_LIMITS)
    head = f"POST /v1/sys/init HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n".encode()
    opened = time.monotonic()
    silent = [connect(server) for _ in range(300)]
    half_headers = [connect(server, head) for _ in range(20)]
    half_bodies = [
        connect(server, head + b"Content-Length: 100\r\n\r\n" + b'{"secret_shares"')
        for _ in range(10)
    ]
    kept_alive = [connect(server, b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")]
    # Meanwhile the server answers everyone else at once.
    checks = [health_seconds(server) for _ in range(20)]
    assert max(checks) < 1.0, checks
    idle = closed_after(silent + half_headers + kept_alive, opened, HEADER_TIMEOUT + 5)
    assert min(idle) > HEADER_TIMEOUT - 0.5, "closed before the configured limit"
    assert max(idle) < HEADER_TIMEOUT + 3
    answers: list[bytes] = []
    bodies = closed_after(half_bodies, opened, READ_TIMEOUT + 5, answers)
    assert min(bodies) > READ_TIMEOUT - 0.5
    assert max(bodies) < READ_TIMEOUT + 3
    assert len(answers) == len(half_bodies)
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"connection: close\r\n" in answer.lower()
        assert answer.endswith(b'{"errors":["request body not received within 3s"]}')
    for sock in silent + half_headers + half_bodies + kept_alive:
        sock.close()
    assert health_seconds(server) < 1.0
    assert "Traceback" not in server.log()


def test_clients_reconnect_after_an_idle_connection_is_closed(servers: ServerFactory) -> None:
    """A kept-alive connection idle for http_read_header_timeout is closed (Vault keeps it 5
    minutes); requests' pool (hvac's) sees that and opens a new one."""
    server = servers.sqlite(listener=SHORT_LIMITS)
    with requests.Session() as session:
        first = session.get(server.v1("sys/seal-status"), timeout=10)
        time.sleep(HEADER_TIMEOUT + 1)
        second = session.get(server.v1("sys/seal-status"), timeout=10)
    assert (first.status_code, second.status_code) == (200, 200)
    client = server.client()
    assert client.sys.read_seal_status()["initialized"] is False
    time.sleep(HEADER_TIMEOUT + 1)
    assert client.sys.read_seal_status()["initialized"] is False


def test_http2_is_not_spoken(dev_server: ServerProcess) -> None:
    """A connection that opens with HTTP/2's preface (h2c with prior knowledge) is closed:
    granian's HTTP/2, and its sniffing of the preface, had no timeout."""
    with socket.create_connection((HOST, dev_server.port), timeout=10) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert sock.recv(1000) == b""


def open_files(server: ServerProcess) -> int:
    assert server.proc is not None
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def test_idle_connections_alone_cannot_exhaust_file_descriptors(servers: ServerFactory) -> None:
    """A server allowed 200 open files, and 500 connections that send nothing: they wait for
    a free place in the kernel's queue, not in the server's descriptors, and it keeps working."""
    limit = 200
    server = servers.sqlite(listener={"http_read_header_timeout": "2s"}, open_files=limit)
    token = server.init_and_unseal().root_token
    flood = [connect(server) for _ in range(500)]
    try:
        time.sleep(0.5)
        assert open_files(server) < limit
        # In line behind the flood: answered once the connections before it timed out.
        assert health_seconds(server) < 4 * HEADER_TIMEOUT + 3
        assert open_files(server) < limit
        policy = 'path "sys/mounts" { capabilities = ["read"] }'
        written = server.request(
            "PUT", "sys/policies/acl/after-flood", token, json={"policy": policy}
        )
        assert written.status_code == 204, written.text
    finally:
        for sock in flood:
            sock.close()
    log = server.log()
    assert "Too many open files" not in log
    assert "Traceback" not in log
