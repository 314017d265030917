"""A loopback HTTP(S) server of JSON documents that counts the requests for each path: a
JWKS endpoint or an OIDC issuer's discovery document, for the key-set fetching tests."""

from __future__ import annotations

import json
import ssl
import threading
from collections import Counter
from typing import Any

from tests.support.lifecycle import Service
from tests.support.loopback_http import LoopbackServer, Reply, Request, answering


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
        self._lock = threading.Lock()
        self._http = LoopbackServer(answering(self._answer), tls=tls, name="json-server")

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def _answer(self, request: Request) -> Reply:
        path = request.path
        with self._lock:
            self.hits[path] += 1
            hold = self.holds.get(path)
        if hold is not None:
            hold.wait(10)
        with self._lock:
            status = self.statuses.get(path, 200 if path in self.documents else 404)
            body = json.dumps(self.documents.get(path, {})).encode()
        return Reply(status, body)
