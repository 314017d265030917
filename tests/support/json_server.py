"""A loopback HTTP(S) server of JSON documents that counts the requests for each path: a
JWKS endpoint or an OIDC issuer's discovery document, for the key-set fetching tests."""

from __future__ import annotations

import json
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.lifecycle import Service


class JsonServer(Service):
    """`documents[path]` answered as JSON to GET (404 for other paths, or the status set in
    `statuses[path]`). `hits[path]` counts the GETs. While `holds[path]` is set, a GET of
    that path waits until the event is set before it answers (a slow provider). With `tls`,
    HTTPS with that context."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.documents: dict[str, Any] = {}
        self.statuses: dict[str, int] = {}
        self.hits: Counter[str] = Counter()
        self.holds: dict[str, threading.Event] = {}
        self._tls = tls
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("JsonServer is not started")
        port = self._server.server_address[1]
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="json-server",
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

    def answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.hits[path] += 1
            hold = self.holds.get(path)
        if hold is not None:
            hold.wait(10)
        with self._lock:
            status = self.statuses.get(path, 200 if path in self.documents else 404)
            body = json.dumps(self.documents.get(path, {})).encode()
        return status, body


def _handler_for(server: JsonServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = server.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
