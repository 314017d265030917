"""HTTP/1.1 for the light path (`light_query.py`): one kept connection, one exchange at a time.

What `http.client` did here, less what a form POST to AWS never needs: the request goes out
in one `sendall` (head and body together), and the answer is read by a strict reader of the
status line, the headers and the body (Content-Length, chunked, or to the end of the
connection), without the `email` package's parser, which cost more than the rest of the call's
HTTP. Limits as `http.client`'s: a line at most 64 KiB, at most 100 headers. A malformed
answer raises `BadAnswer`; a connection closed before any answer, `Disconnected` (a
`ConnectionResetError`, as `http.client.RemoteDisconnected` is); socket errors and timeouts
are raised as they come.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Mapping
from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 100
_NO_BODY = (204, 304)
# ASCII only: `str.isdigit` and `int` take other digits ("²", "٣") and `int(.., 16)` takes
# "0x", "_" and signs, none of which HTTP allows.
_DIGITS = re.compile(r"[0-9]+")
_STATUS = re.compile(r"[1-9][0-9][0-9]")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class BadAnswer(Exception):
    """The server's answer is not HTTP/1.x as this reader knows it, or was cut short."""


class Disconnected(ConnectionResetError):
    """The server closed the connection without answering (a kept one it timed out, mostly)."""


class Answer:
    __slots__ = ("body", "headers", "status", "will_close")

    def __init__(self, status: int, headers: dict[str, str], body: bytes, will_close: bool) -> None:
        self.status = status
        self.headers = headers  # names lower-cased; repeated headers joined with ", "
        self.body = body
        self.will_close = will_close


def request_head(host: str, headers: Mapping[str, str], length: int) -> bytes:
    """`POST / HTTP/1.1` with `Host`, `headers` in their order and `Content-Length`, as
    `http.client` wrote it. A value with a line break is refused (`ValueError`), as there."""
    lines = ["POST / HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"invalid header value for {name}")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {length}")
    lines += ["", ""]
    return "\r\n".join(lines).encode("latin-1")


class Connection:
    """A client connection to `host`:`port`, TLS when `ssl_context` is given (the host name
    checked against the certificate as `http.client` does)."""

    def __init__(self, host: str, port: int, *, connect_timeout: float, read_timeout: float,
                 ssl_context: ssl.SSLContext | None) -> None:  # fmt: skip
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ssl_context = ssl_context
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        """Connect, each address tried and the TLS handshake within the connect timeout (as
        `http.client`); reads then wait at most the read timeout."""
        sock = socket.create_connection((self._host, self._port), self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl_context is not None:
                sock = self._ssl_context.wrap_socket(sock, server_hostname=self._host)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = sock.makefile("rb")

    def exchange(self, head: bytes, body: bytes) -> Answer:
        """Send one request and read its answer."""
        assert self._sock is not None
        assert self._reader is not None
        self._sock.sendall(head + body)
        return read_answer(self._reader)

    def close(self) -> None:
        reader, sock = self._reader, self._sock
        self._reader = self._sock = None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()


def read_answer(fp: BinaryIO) -> Answer:
    """One answer to a POST from `fp`. Informational (1xx) answers are skipped, as HTTP asks
    of a client that did not ask for them (`http.client` skipped `100 Continue` only)."""
    while True:
        line = _line(fp)
        if not line:
            raise Disconnected("the server closed the connection without answering")
        version, status = _status_line(line)
        headers = _headers(fp)
        if not 100 <= status < 200:
            break
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if status in _NO_BODY:
        return Answer(status, headers, b"", will_close)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Answer(status, headers, _chunked(fp), will_close)
    declared = headers.get("content-length")
    if declared is None:
        return Answer(status, headers, fp.read(), True)  # to the end of the connection
    if not _DIGITS.fullmatch(declared):
        raise BadAnswer(f"invalid Content-Length {declared!r}")
    return Answer(status, headers, _exactly(fp, int(declared)), will_close)


def _line(fp: BinaryIO) -> bytes:
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadAnswer("a line of the answer is longer than 64 KiB")
    return line


def _status_line(line: bytes) -> tuple[str, int]:
    parts = line.decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BadAnswer(f"not an HTTP/1.x status line: {line[:80]!r}")
    if not _STATUS.fullmatch(parts[1]):
        raise BadAnswer(f"not an HTTP status: {parts[1]!r}")
    return parts[0], int(parts[1])


def _headers(fp: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = _line(fp)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon:
            raise BadAnswer(f"not a header: {line[:80]!r}")
        key, text = name.strip().lower(), value.strip()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    raise BadAnswer(f"more than {MAX_HEADERS} headers")


def _chunked(fp: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_text = _line(fp).split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise BadAnswer(f"invalid chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            while _line(fp) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(_exactly(fp, size))
        if _exactly(fp, 2) != b"\r\n":
            raise BadAnswer("a chunk does not end with CRLF")


def _exactly(fp: BinaryIO, size: int) -> bytes:
    data = fp.read(size)
    if len(data) < size:
        raise BadAnswer(f"the answer ended after {len(data)} of {size} bytes")
    return data
