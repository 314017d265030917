"""The `socket` device's sink: lines over TCP or UDP to `address` (HOST:PORT).

The connection is made on first use and kept. A TCP peer that closed its end is noticed before
the next write; a write that fails is retried once on a fresh connection, and then the error
is the caller's (the device failed). `write_timeout` bounds how long a write may block.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Mapping

from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.errors import InvalidRequest

DEFAULT_WRITE_TIMEOUT = 2.0


class SocketSink:
    def __init__(
        self, address: str, socket_type: str = "tcp", write_timeout: float = DEFAULT_WRITE_TIMEOUT
    ) -> None:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidRequest(f"'address' {address!r} must be HOST:PORT")
        if socket_type not in ("tcp", "udp"):
            raise InvalidRequest(f"'socket_type' must be tcp or udp, not {socket_type!r}")
        self.address = (host.strip("[]"), int(port))
        self.socket_type = socket_type
        self.write_timeout = write_timeout
        self._sock: socket.socket | None = None
        self._reopen = False
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> SocketSink:
        address = options.get("address", "")
        if not address:
            raise InvalidRequest("address is required")
        timeout = DEFAULT_WRITE_TIMEOUT
        if options.get("write_timeout"):
            try:
                timeout = float(parse_duration(options["write_timeout"])) or DEFAULT_WRITE_TIMEOUT
            except ValueError as exc:
                raise InvalidRequest(f"unable to parse 'write_timeout': {exc}") from None
        return cls(address, options.get("socket_type", "tcp"), timeout)

    def write(self, line: bytes) -> None:
        with self._lock:
            if self._reopen or not self._usable():
                self._close()
            self._reopen = False
            try:
                self._send(line)
            except OSError:
                self._close()
                self._send(line)

    def reopen(self) -> None:
        self._reopen = True

    def close(self) -> None:
        with self._lock:
            self._close()

    def _send(self, line: bytes) -> None:
        if self._sock is None:
            self._sock = self._connect()
        self._sock.sendall(line)

    def _connect(self) -> socket.socket:
        if self.socket_type == "tcp":
            return socket.create_connection(self.address, timeout=self.write_timeout)
        family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.settimeout(self.write_timeout)
        try:
            sock.connect(self.address)
        except OSError:
            sock.close()
            raise
        return sock

    def _usable(self) -> bool:
        """False when a TCP peer has closed (or reset) its end: reading would say so at once."""
        sock = self._sock
        if sock is None or self.socket_type != "tcp":
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return True
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except OSError:
            return False

    def _close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
