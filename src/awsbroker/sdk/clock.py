"""Time comes from a clock that tests can replace."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to. For tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def rfc3339(when: float) -> str:
    """A Unix time as RFC 3339 in UTC, as Vault's API writes times: `2023-11-14T22:13:20Z`,
    with microseconds when there are any."""
    return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")
