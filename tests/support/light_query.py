"""What the light query path's tests (test_light_sts.py, test_light_iam.py) share: the request
boto3 would send, captured before it leaves; botocore's parsed answers with their datetimes in
UTC; and a scripted HTTP endpoint answering each POST with the next (status, body) of its
script."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import threading
from collections.abc import Iterator
from typing import Any


class _CapturedError(Exception):
    pass


def boto_request(client: Any, method: str, params: dict[str, Any]) -> Any:
    """The request boto3 client `client` would send for `method(**params)`."""
    captured: list[Any] = []

    def capture(request: Any, **kwargs: object) -> Any:
        captured.append(request)
        raise _CapturedError

    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}"
    client.meta.events.register_first(event, capture)
    try:
        getattr(client, method)(**params)
    except _CapturedError:
        pass
    finally:
        client.meta.events.unregister(event, capture)
    assert captured, f"{method} sent nothing"
    return captured[0]


def botocore_parse(client: Any, operation: str, answer: str) -> Any:
    """botocore's parse of success answer `answer` to `operation`, without ResponseMetadata,
    datetimes in UTC (botocore gives them in local time)."""
    model = client.meta.service_model.operation_model(operation)
    parsed = client._response_parser.parse(
        {"headers": {}, "status_code": 200, "body": answer.encode(), "context": {}},
        model.output_shape,
    )
    del parsed["ResponseMetadata"]
    return _utc(parsed)


def _utc(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC)
    return value


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next (status, body) of the server's script, the last one
    repeated; keeps the connection open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server: Any = self.server
        self.rfile.read(int(self.headers["Content-Length"]))
        server.requests += 1
        status, body = server.script[min(server.requests, len(server.script)) - 1]
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def scripted_endpoint() -> Iterator[Any]:
    """A local HTTP server (its `script`, `requests` and `endpoint`), stopped on exit."""
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.daemon_threads = True
    server.requests = 0
    server.script = []
    server.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
