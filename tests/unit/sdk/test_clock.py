"""Clocks: the system's, and a manual one that tests move by hand."""

from __future__ import annotations

import time

from awsbroker.sdk.clock import Clock, ManualClock, SystemClock, rfc3339


def test_system_clock_is_unix_time() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=100.0)
    assert clock.now() == clock.now() == 100.0
    clock.advance(61)
    assert clock.now() == 161.0
    clock.advance(0.5)
    assert clock.now() == 161.5


def test_manual_clock_default_start_is_a_fixed_recent_time() -> None:
    assert ManualClock().now() == 1_700_000_000.0


def test_both_satisfy_the_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), ManualClock()]
    assert all(isinstance(c.now(), float) for c in clocks)


def test_rfc3339_is_utc_with_microseconds_only_when_there_are_some() -> None:
    assert rfc3339(1_700_000_000.0) == "2023-11-14T22:13:20Z"
    assert rfc3339(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
