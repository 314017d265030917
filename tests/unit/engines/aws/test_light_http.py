"""The light path's HTTP/1.1 (transport/light_http.py) against `http.client`, which it replaced:
the same request bytes, the same reading of the answers AWS and its emulators send, a clear
refusal of the ones that are not HTTP, and a kept connection the server closed replaced once."""

from __future__ import annotations

import http.client
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from awsbroker.engines.aws.transport.boto import build_sts
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.engines.aws.transport.light_http import (
    BadAnswer,
    Disconnected,
    read_answer,
    request_head,
)
from awsbroker.engines.aws.transport.light_sts import LightSTS
from awsbroker.sdk.telemetry import NullTelemetry

HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    "X-Amz-Date": "20261205T010203Z",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261205/us-east-1/sts/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=00",
    "User-Agent": "Boto3/1.0 md/Botocore#1.0",
}
BODY = b"Action=AssumeRole&Version=2011-06-15"


class _Recorder:
    """A socket that keeps what `http.client` sends."""

    def __init__(self) -> None:
        self.sent = b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def test_the_request_is_the_bytes_http_client_sent() -> None:
    conn = http.client.HTTPConnection("sts.us-east-1.amazonaws.com", 443)
    recorder = _Recorder()
    conn.sock = recorder  # type: ignore[assignment]
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", "sts.us-east-1.amazonaws.com")
    for key, value in HEADERS.items():
        conn.putheader(key, value)
    conn.putheader("Content-Length", str(len(BODY)))
    conn.endheaders(BODY)
    ours = request_head("sts.us-east-1.amazonaws.com", HEADERS, len(BODY)) + BODY
    assert ours == recorder.sent


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb"])
def test_a_header_value_with_a_line_break_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="invalid header value for X-Amz-Security-Token"):
        request_head("host", {"X-Amz-Security-Token": value}, 0)


class _Answer:
    """What `http.client.HTTPResponse` needs of a socket: a file to read the answer from."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.raw)


def _http_client(raw: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    """`http.client`'s reading of `raw`, repeated headers joined."""
    answer = http.client.HTTPResponse(_Answer(raw), method="POST")  # type: ignore[arg-type]
    answer.begin()
    headers = {k.lower(): ", ".join(answer.msg.get_all(k) or []) for k in answer.msg}
    return answer.status, headers, answer.read(), bool(answer.will_close)


XML = b"<AssumeRoleResponse/>"
ANSWERS = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 21\r\n\r\n"
    + XML,
    "chunked, with an extension and trailers": b"HTTP/1.1 200 OK\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\n<Assu\r\n10\r\nmeRoleResponse/>\r\n"
    b"0\r\nX-Trailer: t\r\n\r\n",
    "to the end of the connection": b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n" + XML,
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\n" + XML,
    "HTTP/1.0 keep-alive": b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
    b"Content-Length: 21\r\n\r\n" + XML,
    "Connection: close": b"HTTP/1.1 503 Slow Down\r\nConnection: close\r\n"
    b"Content-Length: 21\r\n\r\n" + XML,
    "100 Continue first": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\n"
    b"x-amzn-RequestId: r-1\r\nContent-Length: 21\r\n\r\n" + XML,
    "no content": b"HTTP/1.1 204 No Content\r\n\r\n",
    "a repeated header, a reason with spaces, bare LFs": b"HTTP/1.1 500 Internal Server Error\n"
    b"Set-Cookie: a=1\nSet-Cookie: b=2\nContent-Length: 0\n\n",
    "no reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("raw", ANSWERS.values(), ids=ANSWERS.keys())
def test_answers_are_read_as_http_client_reads_them(raw: bytes) -> None:
    """As `http.client` reads them, repeated headers joined with ", " as urllib3 (boto3's)
    joins them (the light path kept the last one when it read through `http.client`)."""
    ours = read_answer(io.BytesIO(raw))
    assert (ours.status, ours.headers, ours.body, ours.will_close) == _http_client(raw)


MALFORMED = {
    "not HTTP": b"SSH-2.0-OpenSSH_9.6\r\n",
    "HTTP/2": b"HTTP/2 200\r\n\r\n",
    "a status that is not a number": b"HTTP/1.1 2OO OK\r\n\r\n",
    "a header without a colon": b"HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n",
    "a line longer than 64 KiB": b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    "101 headers": b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 101 + b"\r\n",
    "a Content-Length that is not a number": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "a body cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n" + XML,
    "a chunk size that is not hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "a chunk cut short": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab",
    "a chunk without its CRLF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nabXY0\r\n\r\n",
    "a status of digits that are not ASCII": "HTTP/1.1 2²0 OK\r\n\r\n".encode("latin-1"),
    "a Content-Length of digits that are not ASCII": "HTTP/1.1 200 OK\r\n"
    "Content-Length: ¹\r\n\r\n".encode("latin-1"),
    "a negative chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    "a chunk size with 0x": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n",
    "a chunk size with _": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_what_is_not_http_is_refused(raw: bytes) -> None:
    with pytest.raises(BadAnswer):
        read_answer(io.BytesIO(raw))


def test_a_connection_closed_without_an_answer_is_a_disconnection() -> None:
    with pytest.raises(Disconnected):
        read_answer(io.BytesIO(b""))
    assert issubclass(Disconnected, ConnectionResetError)


ASSUME_ROLE = (
    b'<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
    b"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn>"
    b"<AssumedRoleId>ARO123EXAMPLE123:s</AssumedRoleId></AssumedRoleUser><Credentials>"
    b"<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>"
    b"<SessionToken>token</SessionToken><Expiration>2026-12-05T13:34:41Z</Expiration>"
    b"</Credentials></AssumeRoleResult></AssumeRoleResponse>"
)


@pytest.fixture
def scripted_connections() -> Iterator[Any]:
    """A server answering the n-th request on its m-th connection with `script[m][n]`
    (raw bytes), closing a connection once its script is done."""
    listener = socket.create_server(("127.0.0.1", 0))
    state: Any = type("State", (), {"connections": 0, "requests": 0, "script": []})()
    state.endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            answers = state.script[min(state.connections, len(state.script) - 1)]
            state.connections += 1
            with conn, conn.makefile("rb") as reader:
                for answer in answers:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        head += reader.readline()
                    length = next(
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                    reader.read(length)
                    state.requests += 1
                    conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield state
    finally:
        listener.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ASSUME_ROLE) + ASSUME_ROLE
SAYS_CLOSE = (
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(ASSUME_ROLE)
    + ASSUME_ROLE
)


def _assume(light: LightSTS) -> str:
    answer = light.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo",
                               RoleSessionName="session", DurationSeconds=900)  # fmt: skip
    return str(answer["Credentials"]["AccessKeyId"])


def _light(endpoint: str) -> LightSTS:
    spec = ClientSpec("sts", "us-east-1", endpoint, "AKIDEXAMPLE", "secret", 0)
    return LightSTS(build_sts(spec, NullTelemetry()), NullTelemetry())


def test_an_answer_that_says_close_is_not_kept(scripted_connections: Any) -> None:
    server = scripted_connections
    server.script = [[SAYS_CLOSE]]
    light = _light(server.endpoint)
    assert _assume(light) == "ASIAIOSFODNN7EXAMPLE"
    assert light._idle == []  # closed, not pooled
    assert _assume(light) == "ASIAIOSFODNN7EXAMPLE"
    assert (server.connections, server.requests) == (2, 2)
    light.close()


def test_garbage_on_a_kept_connection_is_retried_once_on_a_new_one(
    scripted_connections: Any,
) -> None:
    server = scripted_connections
    server.script = [[OK, b"SSH-2.0-OpenSSH_9.6\r\n"], [OK, OK]]
    light = _light(server.endpoint)
    assert _assume(light) == "ASIAIOSFODNN7EXAMPLE"
    assert len(light._idle) == 1
    assert _assume(light) == "ASIAIOSFODNN7EXAMPLE"  # garbage, then the same call on a new one
    assert (server.connections, server.requests) == (2, 3)
    light.close()


def test_garbage_on_a_new_connection_is_botocores_error(scripted_connections: Any) -> None:
    server = scripted_connections
    server.script = [[b"HTTP/1.1 2\xb20 OK\r\n\r\n"]]
    light = _light(server.endpoint)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        _assume(light)
    assert light._idle == []
    light.close()


def test_a_kept_connection_the_server_closed_is_replaced_once(scripted_connections: Any) -> None:
    """Each connection answers one request without saying it will close (no `Connection:
    close`), then closes: what a kept connection meets when AWS's side timed it out between
    two calls."""
    server = scripted_connections
    server.script = [[OK]]
    light = _light(server.endpoint)
    for _ in range(3):
        assert _assume(light) == "ASIAIOSFODNN7EXAMPLE"
    # Each call after the first found its kept connection closed and sent on a new one; no
    # call failed, and none was sent twice.
    assert (server.connections, server.requests) == (3, 3)
    light.close()


def test_a_server_that_closes_a_new_connection_is_botocores_error(
    scripted_connections: Any,
) -> None:
    server = scripted_connections
    server.script = [[b""]]  # reads the request, answers nothing, closes
    light = _light(server.endpoint)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        _assume(light)
    light.close()
