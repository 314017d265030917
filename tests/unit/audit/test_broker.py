"""The broker's fail-closed rule: at least one device must record each entry."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from awsbroker.audit.broker import AuditBroker, AuditFailed
from awsbroker.audit.device import Device, UnavailableSink
from awsbroker.audit.entry import Formatter, LogInput
from awsbroker.audit.hashing import Salt
from awsbroker.sdk.logical import Operation, Request
from awsbroker.sdk.telemetry import AUDIT_FAILURES


class MemorySink:
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.reopened = 0
        self.closed = False

    def write(self, line: bytes) -> None:
        self.lines.append(line)

    def reopen(self) -> None:
        self.reopened += 1

    def close(self) -> None:
        self.closed = True


class CountingTelemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, dict[str, str]]] = []

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        self.counts.append((name, dict(labels)))

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        return None

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        return None


def entry() -> LogInput:
    return LogInput(request=Request(Operation.READ, "aws/creds/x", client_token="t"), time=0.0)


def device(path: str, sink: MemorySink | UnavailableSink) -> Device:
    return Device(path, sink, Formatter(Salt(path)))


def test_no_device_means_nothing_to_record_and_nothing_fails() -> None:
    broker = AuditBroker()
    assert not broker.enabled
    broker.log_request(entry())
    broker.log_response(entry())


def test_each_device_gets_the_entry_hashed_with_its_own_salt() -> None:
    a, b = MemorySink(), MemorySink()
    broker = AuditBroker()
    broker.add(device("a/", a))
    broker.add(device("b/", b))
    broker.log_request(entry())
    assert len(a.lines) == len(b.lines) == 1
    assert Salt("a/").hash("t").encode() in a.lines[0]
    assert Salt("b/").hash("t").encode() in b.lines[0]


def test_the_only_device_failing_fails_the_entry_and_is_counted() -> None:
    telemetry = CountingTelemetry()
    broker = AuditBroker(telemetry)
    broker.add(device("bad/", UnavailableSink("disk on fire")))
    with pytest.raises(AuditFailed):
        broker.log_request(entry())
    with pytest.raises(AuditFailed):
        broker.log_response(entry())
    assert telemetry.counts == [
        (AUDIT_FAILURES, {"device": "bad/", "type": "request"}),
        (AUDIT_FAILURES, {"device": "bad/", "type": "response"}),
    ]


def test_one_working_device_is_enough() -> None:
    good = MemorySink()
    broker = AuditBroker()
    broker.add(device("bad/", UnavailableSink("gone")))
    broker.add(device("good/", good))
    broker.log_request(entry())
    assert len(good.lines) == 1


def test_remove_closes_and_reopen_reaches_every_sink() -> None:
    a, b = MemorySink(), MemorySink()
    broker = AuditBroker()
    broker.add(device("a/", a))
    broker.add(device("b/", b))
    broker.reopen()
    assert (a.reopened, b.reopened) == (1, 1)
    broker.remove("a/")
    assert a.closed
    assert broker.get("a/") is None
    broker.clear()
    assert b.closed
    assert not broker.enabled
