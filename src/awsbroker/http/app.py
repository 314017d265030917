"""The ASGI application: Vault's `/v1/` API in front of a `Core`.

Every request under `/v1/` becomes one `Request` handed to `Core.handle` in a worker thread
(the core and its storage are synchronous); the answer is rendered in Vault's envelope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import cast
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from awsbroker.http import ui
from awsbroker.http.asgi import (
    JSON_TYPE,
    Answer,
    ClientDisconnect,
    answer,
    header_pairs,
    json_answer,
    media_type,
    read_body,
    request_headers,
    too_large,
)
from awsbroker.http.errors import HEADER_PAIRS, error_answer, from_error
from awsbroker.http.sites import Refused, SitePolicy, cors_headers, preflight_headers
from awsbroker.http.workers import WorkerThreads
from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.envelope import envelope
from awsbroker.sdk.errors import (
    BrokerError,
    InvalidRequest,
    NotFound,
    UnsupportedOperation,
)
from awsbroker.sdk.fields import parse_bool
from awsbroker.sdk.logcontext import REQUEST_ID
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

log = logging.getLogger("awsbroker.http")
DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024
# Seconds a request's body may take to arrive once its headers have (Vault's
# `http_read_timeout`); the listener passes the configured value.
DEFAULT_READ_TIMEOUT = 30.0
# Levels of arrays and objects a JSON body may nest, its own object included. Vault's bodies
# are a few levels deep; deeper ones only cost stack (Python's decoder and every walk of the
# data recurse) and are refused with a 400 that says so.
MAX_JSON_DEPTH = 100
DEPTH_MESSAGE = (
    f"failed to parse JSON input: the body nests arrays and objects more than {MAX_JSON_DEPTH} "
    "levels deep; send a flatter body"
)
# Carries the warnings of a raw answer, whose body has no place for them (container-creds/).
WARNING_HEADER = "X-Awsbroker-Warning"
# Requests the core serves at once; the rest wait their turn in the event loop.
WORKER_THREADS = 64
Handler = Callable[[Request], Response | None]
# Told of every answered request: the request (None if it could not be decoded), the HTTP
# status and the seconds it took. The server counts them in its metrics.
Observer = Callable[[Request | None, int, float], None]


class BodyTimeout(Exception):
    """The request's body did not arrive within the read timeout."""


class API:
    def __init__(
        self,
        handle: Handler,
        max_request_size: int = DEFAULT_MAX_REQUEST_SIZE,
        observe: Observer | None = None,
        *,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        sites: SitePolicy | None = None,
    ) -> None:
        self._handle = handle
        self._max = max_request_size
        self._observe = observe
        self._read_timeout = read_timeout
        self._sites = sites or SitePolicy()
        # Our own hand-off (workers.py): half the CPU of `run_in_executor`, which is half
        # that of anyio's `to_thread`; the request's context variables go along.
        self._workers: WorkerThreads[Request, Response | None] = WorkerThreads(
            WORKER_THREADS, "awsbroker-request"
        )

    async def endpoint(self, scope: Scope, receive: Receive) -> Answer:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        # Every log line written for this request (worker thread included) carries its ID.
        context = REQUEST_ID.set(request_id)
        request: Request | None = None
        cors: str | None = None
        try:
            headers = request_headers(scope)
            cors = self._sites.check(scope, headers)
            if cors is not None and _preflight(scope, headers):
                reply = Answer(204, header_pairs(preflight_headers(cors)))
            else:
                request = await self._decode(scope, headers, receive, request_id)
                response = await self._workers.run(self._handle, request)
                reply = render(request, response)
        except Refused as exc:
            log.info("request refused: %s", exc.message)
            reply = error_answer(exc.status, [exc.message])
        except BodyTimeout:
            log.info("request body not received within %gs: closing", self._read_timeout)
            message = f"request body not received within {self._read_timeout:g}s"
            reply = error_answer(408, [message])
            reply.set("Connection", "close")
        except ClientDisconnect:
            # Nobody is left to answer: one line, not an error (it is the client's doing).
            log.info("the client went away before sending the whole request body")
            reply = error_answer(400, ["the request body was cut short"])
        except BrokerError as exc:
            if not isinstance(exc, InvalidRequest | NotFound):
                log.info("request failed: %s", type(exc).__name__)
            reply = from_error(exc)
        except Exception:
            log.exception("internal error handling a %s request", scope["method"])
            reply = error_answer(500, ["internal error"])
        if cors is not None:
            for name, value in cors_headers(cors).items():
                reply.set(name, value)
        try:
            self._answered(request, reply.status, time.monotonic() - started)
        finally:
            REQUEST_ID.reset(context)
        return reply

    def _answered(self, request: Request | None, status: int, seconds: float) -> None:
        # Operation and mount only: a path can carry a secret (auth/token/lookup/<token>).
        operation = request.operation.value if request is not None else "-"
        mount = (request.mount_point if request is not None else "") or "-"
        log.debug("%s on %s answered %d in %.3fs", operation, mount, status, seconds)
        if self._observe is not None:
            try:
                self._observe(request, status, seconds)
            except Exception:
                log.exception("recording the metrics of a request failed")

    async def _decode(
        self, scope: Scope, headers: dict[str, str], receive: Receive, request_id: str
    ) -> Request:
        # The scope's own fields: building starlette's `URL` costs more than the rest of this.
        path: str = scope["path"]
        if not path.startswith("/v1/"):
            raise NotFound()
        logical = path[len("/v1/") :].lstrip("/")
        while "//" in logical:
            logical = logical.replace("//", "/")
        raw_query: bytes = scope.get("query_string", b"")
        query: dict[str, str] = {}
        if raw_query:  # most requests have none; parsing nothing still costs a microsecond
            query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True))
        # Vault answers any method with a non-empty `help` with the path's help (http/help.go).
        method: str = scope["method"]
        operation = Operation.HELP if query.get("help") else _operation(method, query)
        if operation is Operation.LIST and not logical.endswith("/"):
            logical += "/"
        wrap_ttl = _wrap_ttl(headers)
        if operation is Operation.UPDATE:
            data = await self._body(headers, receive)
        elif operation is Operation.HELP:
            data = {}
        else:
            query.pop("list", None)
            data = cast(JSONObject, query)
        return Request(
            operation=operation,
            path=logical,
            data=data,
            client_token=_token(headers),
            bare_authorization=_bare_authorization(headers),
            id=request_id,
            remote_address=_client_host(scope),
            wrap_ttl=wrap_ttl,
            wrap_format="jwt" if headers.get("x-vault-wrap-format") == "jwt" else "",
        )

    async def _body(self, headers: dict[str, str], receive: Receive) -> JSONObject:
        declared = headers.get("content-length", "")
        # ASCII digits only (`str.isdigit` takes "²"), and no int() of a number too long for it:
        # granian refuses such a header first, but the app must not 500 behind another server.
        if (
            declared.isascii()
            and declared.isdigit()
            and (len(declared) > 18 or int(declared) > self._max)
        ):
            raise too_large(self._max)
        try:
            async with asyncio.timeout(self._read_timeout):
                body = (await read_body(receive, self._max)).strip()
        except TimeoutError:
            raise BodyTimeout() from None
        if not body:
            return {}
        form = headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        if form and body[:1] not in (b"{", b"["):
            return cast(JSONObject, dict(parse_qsl(body.decode("utf-8", "replace"))))
        # Invalid UTF-8 becomes U+FFFD, as in Go's decoder (json.loads on bytes would let an
        # encoded surrogate through, to fail later, deep in a handler).
        text = body.decode("utf-8", "replace")
        try:
            value: JSONValue = json.loads(text)
        except RecursionError:  # nesting deep enough to exhaust the decoder's stack
            raise InvalidRequest(DEPTH_MESSAGE) from None
        except ValueError as exc:
            raise InvalidRequest(f"failed to parse JSON input: {exc}") from None
        if value is None:
            # What the Vault CLI sends for `write -f` (Go's nil map); Vault reads it as empty.
            return {}
        if not isinstance(value, dict):
            raise InvalidRequest("failed to parse JSON input: the body must be a JSON object")
        # Only a body with more openers than the limit can nest deeper (two scans in C).
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _deeper_than(
            value, MAX_JSON_DEPTH
        ):
            raise InvalidRequest(DEPTH_MESSAGE)
        if _ESCAPED_SURROGATE.search(text):
            value = cast(JSONObject, _replace_surrogates(value))
        return value


def _client_host(scope: Scope) -> str:
    client: tuple[str, int] | None = scope.get("client")
    return client[0] if client else ""


def _wrap_ttl(headers: dict[str, str]) -> int:
    """`X-Vault-Wrap-TTL` (seconds or a duration; 0 or absent: no wrapping), as Vault reads it."""
    header = headers.get("x-vault-wrap-ttl", "")
    if not header:
        return 0
    if header.strip().startswith("-"):
        raise InvalidRequest(
            "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"
        )
    integer = _INTEGER.fullmatch(header) is not None
    if integer and len(header) > 18:
        raise InvalidRequest("error parsing X-Vault-Wrap-TTL header: value out of range")
    try:
        ttl = parse_duration(int(header) if integer else header)
    except ValueError as exc:
        raise InvalidRequest(f"error parsing X-Vault-Wrap-TTL header: {exc}") from None
    return ttl


_INTEGER = re.compile(r"-?[0-9]+")


def _preflight(scope: Scope, headers: dict[str, str]) -> bool:
    """A browser's CORS preflight: OPTIONS naming the method it means to send."""
    return scope["method"] == "OPTIONS" and "access-control-request-method" in headers


def _deeper_than(value: JSONObject, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `value` (without recursion)."""
    stack: list[tuple[list[JSONValue] | dict[str, JSONValue], int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, list | dict))
    return False


# `"\ud800"` is valid JSON but not Unicode: a lone surrogate cannot be encoded as UTF-8, so it
# would fail deep in a handler. Go's decoder (Vault's) turns each into U+FFFD; so do we.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(value: JSONValue) -> JSONValue:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_SURROGATE.sub("\ufffd", k): _replace_surrogates(v) for k, v in value.items()}
    return value


def _operation(method: str, query: dict[str, str]) -> Operation:
    if method == "GET":
        if "list" in query:
            try:
                listing = parse_bool(query["list"])
            except ValueError:
                raise InvalidRequest("invalid value for 'list': use true or false") from None
            return Operation.LIST if listing else Operation.READ
        return Operation.READ
    operation = _OPERATIONS.get(method)
    if operation is None:
        raise UnsupportedOperation(f"unsupported method {method}")
    return operation


_OPERATIONS = {
    "LIST": Operation.LIST,
    "POST": Operation.UPDATE,
    "PUT": Operation.UPDATE,
    "DELETE": Operation.DELETE,
    "HEAD": Operation.HEAD,
}


def _token(headers: dict[str, str]) -> str:
    token = headers.get("x-vault-token", "")
    if token:
        return token
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :].strip()
    return ""


def _bare_authorization(headers: dict[str, str]) -> str:
    """`Authorization` without "Bearer", as AWS SDKs' container-credentials provider sends
    AWS_CONTAINER_AUTHORIZATION_TOKEN. It is a token only on the AWS engine's endpoint for
    them, which only the core can tell (it knows which backend serves a path): handed over."""
    auth = headers.get("authorization", "")
    return "" if auth.startswith("Bearer ") else auth.strip()


def render(request: Request, response: Response | None) -> Answer:
    """Vault's envelope, raw bodies, 204 for nothing, 404 for an empty read or list."""
    if response is not None and response.body is not None:
        body = response.body
        return answer(
            response.status or 200, HEADER_PAIRS, body.content, media_type(body.content_type)
        )
    if response is not None and response.raw is not None:
        status = response.status or 200
        # HEAD, and statuses that forbid a body (sys/health?activecode=204), get headers only.
        if request.operation is Operation.HEAD or status in (204, 304):
            return answer(status, HEADER_PAIRS, content_type=JSON_TYPE)
        raw = json_answer(response.raw, status, HEADER_PAIRS)
        _warning_headers(raw, response.warnings)
        return raw
    if response is None or _empty(request, response):
        if request.operation in (Operation.READ, Operation.LIST):
            return error_answer(404, [])
        return answer(204, HEADER_PAIRS, content_type=JSON_TYPE)
    return json_answer(envelope(request, response), response.status or 200, HEADER_PAIRS)


def _warning_headers(raw: Answer, warnings: list[str]) -> None:
    """A raw body (the ECS format of container-creds/) has no `warnings`: each goes in an
    `X-Awsbroker-Warning` header instead, printable ASCII only."""
    for warning in warnings:
        text = "".join(c if " " <= c <= "~" else "?" for c in warning)
        raw.add(WARNING_HEADER, text)


def _empty(request: Request, response: Response) -> bool:
    if response.warnings or response.auth is not None or response.lease_id:
        return False
    if response.wrap_info is not None and response.wrap_info.token:
        return False
    if request.operation is Operation.LIST:
        return not (response.data or {}).get("keys")
    return response.data is None and response.status is None


def build_app(
    handle: Handler,
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE,
    observe: Observer | None = None,
    *,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    sites: SitePolicy | None = None,
    console: ui.Console | None = None,
) -> ASGIApp:
    """The ASGI app: every HTTP request goes to `API.endpoint`, with no router or middleware in
    between (they cost about a tenth of the server's CPU per request; there is one route).
    `read_timeout` bounds the wait for a request's body; `sites`, the hosts and origins it
    answers (default: any host, and browsers from the server's own origin only); `console`, the
    web console's settings (default: on, signing out after 15 idle minutes)."""
    sites = sites or SitePolicy()
    api = API(handle, max_request_size, observe, read_timeout=read_timeout, sites=sites)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":  # a websocket: refused by returning without accepting
            return
        if ui.is_ui(scope["path"]):  # the web console's files
            await ui.answer(scope, sites, console)(scope, receive, send)
        else:
            await (await api.endpoint(scope, receive)).send(send)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop (the core is built before the server listens): acknowledge."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
