"""An enabled audit device: where its lines go (a sink) and how they read (its formatter).

A sink writes one line at a time and raises `OSError` when it cannot; it may be asked to
reopen (SIGHUP, for log rotation) from a signal handler, so `reopen` only flags the work and
the next write does it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from awsbroker.audit.entry import REQUEST, Formatter, LogInput
from awsbroker.audit.file_sink import FileSink
from awsbroker.audit.socket_sink import SocketSink
from awsbroker.sdk.logical import Operation, Request


class Sink(Protocol):
    def write(self, line: bytes) -> None:
        """Write one whole line, or raise `OSError`."""
        ...

    def reopen(self) -> None:
        """Close and reopen the target before the next write. Safe in a signal handler."""
        ...

    def close(self) -> None: ...


SinkFactory = Callable[[Mapping[str, str]], Sink]


class UnavailableSink:
    """Stands in for a device that could not be set up: every write fails, saying why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def write(self, line: bytes) -> None:
        raise OSError(self.reason)

    def reopen(self) -> None:
        return None

    def close(self) -> None:
        return None


def builtin_sinks() -> dict[str, SinkFactory]:
    """The device types, by name: `file` (a path, `stdout` or `discard`) and `socket`."""
    return {"file": FileSink.from_options, "socket": SocketSink.from_options}


@dataclass
class Device:
    path: str
    sink: Sink
    formatter: Formatter

    def log(self, kind: str, log: LogInput) -> None:
        self.sink.write(self.formatter.line(kind, log))

    def test(self, now: float) -> None:
        """Write the test entry Vault writes when a device is enabled."""
        probe = Request(Operation.UPDATE, "sys/audit/test")
        self.log(REQUEST, LogInput(request=probe, time=now))

    def hash(self, value: str) -> str:
        return self.formatter.salt.hash(value)

    @property
    def unavailable(self) -> bool:
        """Whether this stands in for a device that could not be set up."""
        return isinstance(self.sink, UnavailableSink)
