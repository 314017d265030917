"""Connections at the socket level against a real server process: clients that go away in the
middle of a request."""

from __future__ import annotations

import socket
import time

from tests.support.server import HOST, ROOT_TOKEN, ServerProcess

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
