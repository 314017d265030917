"""A recording, fault-injecting HTTP proxy in front of an AWS endpoint (normally moto).

Point a boto3 client's `endpoint_url` at `AWSProxy.endpoint`. Every request is forwarded to
the upstream unchanged -- method, path, query, body and all headers *including Host* -- and
the upstream's answer is returned unchanged. Host must stay as the client sent it: SigV4
signs the Host header (here the proxy's `127.0.0.1:<port>`), and moto with auth on recomputes
the signature from the Host it receives, so rewriting Host to the upstream's address would
turn every call into SignatureDoesNotMatch.

Each call is recorded as a `Call`, with the AWS Query protocol parameters (IAM and STS send
`Action=...&Version=...&...` form bodies) decoded, so tests can assert parameters that moto
accepts but ignores. `inject()` answers matching calls with an AWS Query XML error instead of
forwarding them; botocore parses it into a `ClientError` with that code, and treats
`Throttling` (any status) and 5xx as retryable.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from tests.support.lifecycle import Service
from tests.support.loopback_http import LoopbackServer, QuietHandler

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# STS calls that may arrive unsigned, so without a credential scope to name the service.
_STS_ACTIONS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "DecodeAuthorizationMessage",
        "GetAccessKeyInfo",
        "GetCallerIdentity",
        "GetFederationToken",
        "GetSessionToken",
    }
)


@dataclass(frozen=True)
class Call:
    """One request that reached the proxy, and the status it was answered with."""

    service: str  # "iam", "sts", ... from the SigV4 credential scope; "" if unknown
    action: str  # the Query-protocol `Action`; "" if none
    params: dict[str, list[str]]  # query string + form body, `Action` and `Version` included
    headers: dict[str, str]  # names lower-cased
    status: int
    injected: bool = False  # answered by `inject()`, never reached the upstream
    method: str = "POST"
    path: str = "/"

    def param(self, name: str) -> str | None:
        """The (last) value of a parameter, or None."""
        values = self.params.get(name)
        return values[-1] if values else None


@dataclass
class _Fault:
    action: str | None
    status: int
    code: str
    message: str
    times: int | None
    probability: float | None
    rng: random.Random = field(repr=False)

    def fires(self, action: str) -> bool:
        """Whether this fault answers `action`; consumes one of `times` if so."""
        if self.action is not None and self.action != action:
            return False
        if self.times is not None and self.times <= 0:
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        if self.times is not None:
            self.times -= 1
        return True


def error_body(code: str, message: str, status: int, request_id: str) -> bytes:
    """An AWS Query protocol error document, as IAM and STS send it."""
    kind = "Receiver" if status >= 500 else "Sender"
    return (
        "<ErrorResponse><Error>"
        f"<Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def _service_of(authorization: str, action: str) -> str:
    # AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request, SignedHeaders=...
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) == 5:
        return scope[3]
    return "sts" if action in _STS_ACTIONS else ""


class AWSProxy(Service):
    """A loopback HTTP proxy to `upstream` that records calls and can inject faults."""

    def __init__(self, upstream: str, latency: float = 0.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be http://host:port, not {upstream!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self.latency = latency  # seconds slept before answering each call
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._holds: dict[str, tuple[threading.Event, threading.Event, dict[str, str]]] = {}
        self._http = LoopbackServer(_handler_for(self), name="aws-proxy")

    @property
    def endpoint(self) -> str:
        return self._http.url

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def calls(self, action: str | None = None) -> list[Call]:
        """Recorded calls in arrival order, optionally only those of one action."""
        with self._lock:
            return [c for c in self._calls if action is None or c.action == action]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def inject(
        self,
        action: str | None,
        status: int,
        code: str,
        message: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Answer calls of `action` (None: any) with an error instead of forwarding them.

        `times` caps how often the fault fires (None: forever); `probability` makes each
        matching call fire with that chance, from a generator seeded with `seed`. Faults are
        tried in the order injected; the first that fires answers the call.
        """
        fault = _Fault(action, status, code, message, times, probability, random.Random(seed))
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def hold(self, action: str, **only: str) -> threading.Event:
        """Hold calls of `action` (only those whose parameters include `only`, if given, such
        as `RoleName="a"`) before forwarding them, until `release(action)`; the Event returned
        is set once one is held (a test kills the caller meanwhile)."""
        arrived = threading.Event()
        with self._lock:
            self._holds[action] = (arrived, threading.Event(), only)
        return arrived

    def release(self, action: str) -> None:
        with self._lock:
            held = self._holds.pop(action, None)
        if held is not None:
            held[1].set()

    def _wait_if_held(self, action: str, params: dict[str, list[str]]) -> None:
        with self._lock:
            held = self._holds.get(action)
        if held is None or any(params.get(k, [None])[-1] != v for k, v in held[2].items()):
            return
        held[0].set()
        held[1].wait(timeout=120)

    def _fault_for(self, action: str) -> _Fault | None:
        with self._lock:
            return next((f for f in self._faults if f.fires(action)), None)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


def _handler_for(proxy: AWSProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        owner = proxy

    return Handler


class _ProxyHandler(QuietHandler):  # quiet: the calls are recorded instead
    # HTTP/1.0: one request per connection, so no idle keep-alive threads outlive stop().
    protocol_version = "HTTP/1.0"
    owner: AWSProxy

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _handle(self) -> None:
        body = self._read_body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        header_map = {k.lower(): v for k, v in headers}
        params = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        if header_map.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for name, values in parse_qs(body.decode(), keep_blank_values=True).items():
                params.setdefault(name, []).extend(values)
        action = (params.get("Action") or [""])[-1]
        service = _service_of(header_map.get("authorization", ""), action)

        if self.owner.latency > 0:
            time.sleep(self.owner.latency)
        self.owner._wait_if_held(action, params)
        fault = self.owner._fault_for(action)
        if fault is not None:
            request_id = str(uuid.uuid4())
            status = fault.status
            out_headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
            out_body = error_body(fault.code, fault.message, status, request_id)
        else:
            try:
                status, out_headers, out_body = self.owner._forward(
                    self.command, self.path, headers, body
                )
            except OSError as exc:
                status, out_headers = 502, [("Content-Type", "text/xml")]
                out_body = error_body("ProxyUpstreamError", str(exc), status, "proxy")
        self.owner._record(
            Call(
                service=service,
                action=action,
                params=params,
                headers=header_map,
                status=status,
                injected=fault is not None,
                method=self.command,
                path=urlsplit(self.path).path,
            )
        )
        self._respond(status, out_headers, out_body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
