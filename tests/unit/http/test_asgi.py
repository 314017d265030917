"""The API's own ASGI plumbing (http/asgi.py): headers and bodies read from the scope and
`receive`, answers sent as ASGI messages, each as Starlette's Request and Response did."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.responses import JSONResponse
from starlette.responses import Response as StarletteResponse

from awsbroker.http.app import build_app
from awsbroker.http.asgi import (
    JSON_TYPE,
    Answer,
    ClientDisconnect,
    answer,
    json_answer,
    json_bytes,
    media_type,
    read_body,
    request_headers,
)
from awsbroker.http.errors import HEADER_PAIRS, HEADERS, error_answer
from awsbroker.sdk.errors import PayloadTooLarge
from awsbroker.sdk.logical import Request, Response

Message = dict[str, Any]


def receiving(*messages: Message) -> Callable[[], Awaitable[Message]]:
    queue = list(messages)

    async def receive() -> Message:
        if not queue:
            raise AssertionError("read past the last message")
        return queue.pop(0)

    return receive


def body(chunk: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": chunk, "more_body": more}


# ---- requests ----------------------------------------------------------------------------------


def test_headers_are_read_by_name_the_first_of_each() -> None:
    scope = {
        "headers": [
            (b"x-vault-token", b"first"),
            (b"host", b"h:1"),
            (b"x-vault-token", b"second"),
            (b"x-name", "caf\u00e9".encode("latin-1")),
        ]
    }
    assert request_headers(scope) == {
        "x-vault-token": "first",
        "host": "h:1",
        "x-name": "caf\u00e9",
    }


def test_a_body_in_one_message() -> None:
    assert asyncio.run(read_body(receiving(body(b'{"a":1}')), 100)) == b'{"a":1}'


def test_a_body_in_chunks_with_empty_ones_and_other_messages_between() -> None:
    receive = receiving(
        body(b'{"a"', more=True),
        body(b"", more=True),
        {"type": "http.something-else"},
        body(b":1}"),
    )
    assert asyncio.run(read_body(receive, 7)) == b'{"a":1}'


def test_no_body_message_at_all_is_an_empty_body() -> None:
    assert asyncio.run(read_body(receiving({"type": "http.request"}), 10)) == b""


def test_a_streamed_body_past_the_limit_stops_at_the_chunk_that_passes_it() -> None:
    # The third chunk is never read: the answer does not wait for the rest of the body.
    receive = receiving(body(b"12345", more=True), body(b"678901", more=True))
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 10 bytes"):
        asyncio.run(read_body(receive, 10))


def test_a_client_gone_mid_body() -> None:
    receive = receiving(body(b'{"a"', more=True), {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body(receive, 100))


# ---- answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        {"errors": []},
        {"a": "caf\u00e9 \u2603 \U0001f600", "n": [1, 2.5, None, True, False], "e": {}},
        {"esc": 'quote " backslash \\ newline \n tab \t nul \x00'},
        {"big": 10**30, "neg": -0.0, "small": 1e-300},
    ],
)
def test_json_is_starlettes_to_the_byte(content: dict[str, object]) -> None:
    starlette = JSONResponse(content, status_code=200, headers=HEADERS)
    ours = json_answer(content, 200, HEADER_PAIRS)
    assert ours.body == starlette.body
    assert ours.headers == starlette.raw_headers


def test_json_refuses_nan_as_starlette_does() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        json_bytes({"x": float("nan")})


@pytest.mark.parametrize("status", [101, 200, 202, 204, 304, 404, 503])
def test_empty_answers_have_starlettes_headers(status: int) -> None:
    starlette = StarletteResponse(
        status_code=status, headers=HEADERS, media_type="application/json"
    )
    assert answer(status, HEADER_PAIRS, content_type=JSON_TYPE).headers == starlette.raw_headers


@pytest.mark.parametrize(
    "kind", ["text/plain", "text/plain; version=0.0.4; charset=utf-8", "application/x-thing"]
)
def test_other_bodies_have_starlettes_content_type(kind: str) -> None:
    starlette = StarletteResponse(b"x 1\n", status_code=200, headers=HEADERS, media_type=kind)
    ours = answer(200, HEADER_PAIRS, b"x 1\n", media_type(kind))
    assert ours.headers == starlette.raw_headers


def test_answers_copy_the_headers_they_start_from() -> None:
    answer(200, HEADER_PAIRS).add("X-One", "1")
    assert HEADER_PAIRS == ((b"cache-control", b"no-store"),)


def test_set_replaces_the_first_and_drops_the_rest_add_appends() -> None:
    reply = Answer(200, [(b"a", b"1"), (b"vary", b"x"), (b"b", b"2"), (b"vary", b"y")])
    reply.set("Vary", "Origin")
    reply.set("Connection", "close")
    reply.add("X-Awsbroker-Warning", "w")
    assert reply.headers == [
        (b"a", b"1"),
        (b"vary", b"Origin"),
        (b"b", b"2"),
        (b"connection", b"close"),
        (b"x-awsbroker-warning", b"w"),
    ]


# ---- through the app ---------------------------------------------------------------------------


def exchange(
    scope_headers: list[tuple[bytes, bytes]], method: str = "GET", *messages: Message
) -> list[Message]:
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        return Response(raw={"token": request.client_token})

    scope = {
        "type": "http",
        "method": method,
        "path": "/v1/sys/health",
        "query_string": b"",
        "headers": scope_headers,
        "client": ("10.0.0.1", 1234),
        "scheme": "http",
    }
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(build_app(handle)(scope, receiving(*messages), send))
    return sent


def test_of_repeated_token_headers_the_first_counts() -> None:
    sent = exchange([(b"x-vault-token", b"one"), (b"x-vault-token", b"two")])
    assert sent[1] == {"type": "http.response.body", "body": b'{"token":"one"}'}


def test_head_is_two_messages_headers_and_an_empty_body() -> None:
    sent = exchange([(b"x-vault-token", b"t")], method="HEAD")
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"cache-control", b"no-store"),
                (b"content-length", b"0"),
                (b"content-type", b"application/json"),
            ],
        },
        {"type": "http.response.body", "body": b""},
    ]


@pytest.mark.parametrize("declared", ["²", "9" * 5000, "1" * 19])
def test_a_content_length_no_integer_reads_is_no_500(declared: str) -> None:
    # granian refuses these before the app; behind another server the app must not 500.
    header = (b"content-length", declared.encode("latin-1"))
    sent = exchange([header], "POST", body(b""))
    assert sent[0]["status"] in (200, 413)


def test_the_shared_error_headers_cannot_be_changed_by_an_answer() -> None:
    assert isinstance(HEADER_PAIRS, tuple)
    error_answer(400, ["x"]).set("cache-control", "public")
    assert (b"cache-control", b"no-store") in HEADER_PAIRS
