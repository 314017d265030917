"""Clients that misbehave on the wire, driven through the ASGI callable itself: one that goes
away in the middle of its body, and (with the listener's limits) one whose body never comes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from awsbroker.http.app import build_app
from awsbroker.sdk.logical import Request, Response

Message = dict[str, Any]


def handle(request: Request) -> Response | None:
    return Response(data={"ok": True})


def http_scope(method: str = "POST", path: str = "/v1/sys/policies/acl/p") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8200"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8200),
    }


def run(
    app: Callable[[Any, Any, Any], Awaitable[None]], receive: Callable[[], Awaitable[Message]]
) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(http_scope(), receive, send))
    return sent


def test_a_client_gone_mid_body_is_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"pol', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    observed: list[int] = []
    app = build_app(handle, observe=lambda request, status, seconds: observed.append(status))
    with caplog.at_level(logging.DEBUG, logger="awsbroker.http"):
        run(app, receive)
    records = [
        r for r in caplog.records if r.name == "awsbroker.http" and r.levelno > logging.DEBUG
    ]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, "the client went away before sending the whole request body")
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert observed == [400]


def test_a_body_that_does_not_come_in_time_is_408_closing_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first: list[Message] = [{"type": "http.request", "body": b'{"pol', "more_body": True}]

    async def receive() -> Message:
        if first:
            return first.pop()
        await asyncio.sleep(3600)  # the rest never comes
        raise AssertionError("unreachable")

    app = build_app(handle, read_timeout=0.2)
    with caplog.at_level(logging.INFO, logger="awsbroker.http"):
        sent = run(app, receive)
    start = sent[0]
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert sent[1]["body"] == b'{"errors":["request body not received within 0.2s"]}'
    assert "request body not received within 0.2s: closing" in caplog.text
    assert all(r.levelno <= logging.INFO for r in caplog.records)
