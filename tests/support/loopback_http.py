"""The serving half of the tests' loopback stand-ins for outside services (an OIDC issuer, the
AWS federation endpoint, Kubernetes' TokenReview, the AWS recording proxy): an HTTP(S) server
on 127.0.0.1 with a port of its own, run in a thread. A stand-in says how to answer; this
module serves it and stops it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.lifecycle import Service


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # the request line's target, query included
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


class LoopbackServer(Service):
    """`handler` served on 127.0.0.1 (HTTPS with `tls`) until `stop`."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None,
        name: str = "loopback-http",
    ) -> None:  # fmt: skip
        self._handler = handler
        self._tls = tls
        self._name = name
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._name} is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"{self._name} is already started")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() may wait
            name=self._name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None
        self._thread = None


def answering(answer: Callable[[Request], Reply]) -> type[BaseHTTPRequestHandler]:
    """A handler that reads each request (GET, POST, PUT) whole and sends `answer`'s reply,
    logging nothing."""

    class Handler(QuietHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = answer(Request(self.command, self.path, self.headers, body))
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = _serve

    return Handler


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of its access log."""

    def log_message(self, format: str, *args: Any) -> None:
        pass
