"""The `/v1/` API's side of ASGI: a request's headers and body read straight from the scope and
`receive`, and an answer sent as the two messages a response is.

What Starlette's `Request` and `Response` did for the API, without their cost on the event loop
(a `Headers` object, the body's async generator, a `Response`'s header list built and searched
per request): about 30 us of CPU a request, docs/performance.md. What they put on the wire is
kept to the byte: the same JSON, the same headers in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from awsbroker.sdk.errors import PayloadTooLarge

HeaderPairs = list[tuple[bytes, bytes]]
JSON_TYPE = b"application/json"


class ClientDisconnect(Exception):
    """The client went away before its request's body had all arrived."""


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by name (lower case, as ASGI gives them), decoded as latin-1; of
    a repeated header, the first (as Starlette's `Headers.get` reads it)."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in headers:
            headers[key] = value.decode("latin-1")
    return headers


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request's whole body as it arrives: `PayloadTooLarge` once it passes `limit` bytes,
    `ClientDisconnect` if the client goes away first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif kind == "http.disconnect":
            raise ClientDisconnect()


# What `json.dumps` builds anew for each call with these options (about a microsecond of a
# credential's answer); `encode` keeps no state between calls, so threads may share it.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def json_bytes(content: object) -> bytes:
    """`content` as JSON, as Starlette's `JSONResponse` renders it (compact, UTF-8, no NaN)."""
    return _ENCODER.encode(content).encode("utf-8")


def header_pairs(headers: dict[str, str]) -> HeaderPairs:
    """Headers as ASGI sends them: lower-case names, both sides latin-1."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


@dataclass(slots=True)
class Answer:
    """A response: status, headers (ASGI's pairs) and body."""

    status: int
    headers: HeaderPairs
    body: bytes = b""

    def set(self, name: str, value: str) -> None:
        """The header `name` set to `value`: in place of the first of that name (the others
        dropped), else last."""
        key = name.lower().encode("latin-1")
        pair = (key, value.encode("latin-1"))
        found = [i for i, (k, _) in enumerate(self.headers) if k == key]
        if not found:
            self.headers.append(pair)
            return
        for i in reversed(found[1:]):
            del self.headers[i]
        self.headers[found[0]] = pair

    def add(self, name: str, value: str) -> None:
        """One more `name` header, after the others."""
        self.headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def answer(
    status: int,
    headers: Sequence[tuple[bytes, bytes]],
    body: bytes = b"",
    content_type: bytes | None = None,
) -> Answer:
    """An answer with `headers` (copied) then, as Starlette's `Response` adds them, the
    body's `content-length` (unless the status forbids a body) and its `content-type`."""
    pairs = list(headers)
    if status >= 200 and status not in (204, 304):
        pairs.append((b"content-length", str(len(body)).encode("latin-1")))
    if content_type is not None:
        pairs.append((b"content-type", content_type))
    return Answer(status, pairs, body)


def json_answer(content: object, status: int, headers: Sequence[tuple[bytes, bytes]]) -> Answer:
    return answer(status, headers, json_bytes(content), JSON_TYPE)


def media_type(value: str) -> bytes:
    """A `Content-Type` as Starlette's `Response` sends it: text without a charset is UTF-8."""
    if value.startswith("text/") and "charset=" not in value.lower():
        value += "; charset=utf-8"
    return value.encode("latin-1")
