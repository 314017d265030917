"""A `Telemetry` that keeps what it is told, for assertions."""

from __future__ import annotations

from collections.abc import Mapping


class RecordingTelemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, dict[str, str]]] = []
        self.observations: list[tuple[str, float, dict[str, str]]] = []

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        self.counts.append((name, dict(labels)))

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        self.observations.append((name, value, dict(labels)))

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        return None
