"""The core's metrics: a Prometheus registry of its own, fed two ways.

- Reported: everything in the sdk's telemetry catalogue (`sdk/telemetry.py`), through the
  `Telemetry` protocol this class implements. Backends get it in their `BackendConfig`, the
  lease manager and the audit broker hold it, and the HTTP layer reports each answered
  request through `observe_request`.
- Read at scrape time (`StateCollector`): the seal state, the active and irrevocable lease
  counts (from the expiry index, a database count: nothing is held in memory), and the
  seconds since each mount's last successful rotation.

Each `Core` has its own `CollectorRegistry`: two cores in one process never share a metric.
`sys/metrics` renders it as the Prometheus text exposition or as a JSON summary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from awsbroker.sdk.clock import Clock
from awsbroker.sdk.expiry import KIND_LEASE, ExpiryIndex
from awsbroker.sdk.logical import JSONObject, JSONValue, Request
from awsbroker.sdk.telemetry import (
    CATALOGUE,
    REQUEST_SECONDS,
    REQUESTS,
    ROTATION_LAST_SUCCESS,
    Kind,
    MetricSpec,
)

log = logging.getLogger("awsbroker.core.metrics")
# The exposition format Vault serves (and every Prometheus reads).
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNSEALED = "awsbroker_core_unsealed"
LEASES_ACTIVE = "awsbroker_leases_active"
LEASES_IRREVOCABLE = "awsbroker_leases_irrevocable"
ROTATION_AGE = "awsbroker_rotation_seconds_since_last_success"
# AWS calls and API requests: from a few milliseconds to the SDK's timeouts.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Instrument = Counter | Gauge | Histogram
# A time series kept once found: the metric's name, its kind, its labels in the caller's order.
_SeriesKey = tuple[str, type[Instrument], tuple[tuple[str, str], ...]]


def _instrument(spec: MetricSpec, registry: CollectorRegistry) -> Instrument:
    labels = list(spec.labels)
    if spec.kind is Kind.COUNTER:
        return Counter(spec.name, spec.help, labels, registry=registry)
    if spec.kind is Kind.GAUGE:
        return Gauge(spec.name, spec.help, labels, registry=registry)
    return Histogram(spec.name, spec.help, labels, registry=registry, buckets=LATENCY_BUCKETS)


class Metrics:
    """Implements `sdk.telemetry.Telemetry` over a per-core Prometheus registry."""

    def __init__(self, clock: Clock) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._instruments = {spec.name: _instrument(spec, self.registry) for spec in CATALOGUE}
        self._lock = threading.Lock()
        self._rotations: dict[tuple[str, str], float] = {}
        self._children: dict[_SeriesKey, Instrument] = {}

    # ---- the Telemetry protocol ---------------------------------------------------------------

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        child = self._child(name, Counter, labels)
        if isinstance(child, Counter):
            self._safely(name, lambda: child.inc(amount))

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        child = self._child(name, Histogram, labels)
        if isinstance(child, Histogram):
            self._safely(name, lambda: child.observe(value))

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        child = self._child(name, Gauge, labels)
        if isinstance(child, Gauge):
            self._safely(name, lambda: child.set(value))
            if name == ROTATION_LAST_SUCCESS:
                with self._lock:
                    self._rotations[(labels.get("mount", ""), labels.get("kind", ""))] = value

    def _child(
        self, name: str, kind: type[Instrument], labels: Mapping[str, str]
    ) -> Instrument | None:
        """The instrument's time series for `labels`, kept once found: prometheus-client's
        `labels()` checks the names and takes a lock each time, a few microseconds a request
        on every measurement. None (with a warning) for a name or labels the catalogue does
        not have: a bug in the reporter, not the request's."""
        key = (name, kind, tuple(labels.items()))
        child = self._children.get(key)
        if child is not None:
            return child
        instrument = self._instruments.get(name)
        if not isinstance(instrument, kind):
            log.warning("ignored %s: not a %s of the catalogue", name, kind.__name__)
            return None
        try:
            child = instrument.labels(**labels)
        except ValueError as exc:
            log.warning("ignored a measurement of %s: %s", name, exc)
            return None
        self._children[key] = child  # the same series if two threads race here
        return child

    @staticmethod
    def _safely(name: str, record: Callable[[], None]) -> None:
        try:
            record()
        except ValueError as exc:  # a negative count, a value that is not a number: a bug
            log.warning("ignored a measurement of %s: %s", name, exc)

    # ---- what the core and the HTTP layer report ----------------------------------------------

    def observe_request(self, request: Request | None, status: int, seconds: float) -> None:
        operation = request.operation.value if request is not None else "invalid"
        mount = request.mount_point if request is not None else ""
        self.count(REQUESTS, {"operation": operation, "mount": mount, "status": str(status)})
        self.observe(REQUEST_SECONDS, seconds, {"operation": operation, "mount": mount})

    def rotation_ages(self) -> dict[tuple[str, str], float]:
        now = self._clock.now()
        with self._lock:
            return {key: max(0.0, now - at) for key, at in self._rotations.items()}

    # ---- renderings ---------------------------------------------------------------------------

    def prometheus(self) -> bytes:
        return generate_latest(self.registry)

    def summary(self) -> JSONObject:
        """A JSON dump in the shape of Vault's in-memory sink: gauges, counters, samples."""
        gauges: list[JSONValue] = []
        counters: list[JSONValue] = []
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, float]] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                labels = cast(JSONObject, dict(sample.labels))
                if family.type == "gauge":
                    gauges.append({"Name": sample.name, "Value": sample.value, "Labels": labels})
                elif family.type == "counter" and sample.name.endswith("_total"):
                    counters.append(
                        {"Name": family.name, "Count": sample.value, "Sum": sample.value,
                         "Labels": labels}
                    )  # fmt: skip
                elif family.type == "histogram" and sample.name.endswith(("_count", "_sum")):
                    key = (family.name, tuple(sorted(sample.labels.items())))
                    field = "Count" if sample.name.endswith("_count") else "Sum"
                    samples.setdefault(key, {})[field] = sample.value
        return {
            "Timestamp": self._clock.now(),
            "Gauges": gauges,
            "Counters": counters,
            "Samples": [
                {
                    "Name": name,
                    "Count": values.get("Count", 0.0),
                    "Sum": values.get("Sum", 0.0),
                    "Mean": _mean(values),
                    "Labels": cast(JSONObject, dict(labels)),
                }
                for (name, labels), values in samples.items()
            ],
        }


def _mean(values: dict[str, float]) -> float:
    count = values.get("Count", 0.0)
    return values.get("Sum", 0.0) / count if count else 0.0


class StateCollector:
    """Gauges read at scrape time from the core's state."""

    def __init__(self, sealed: Callable[[], bool], index: ExpiryIndex, metrics: Metrics) -> None:
        self._sealed = sealed
        self._index = index
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return self._families(populated=False)

    def collect(self) -> Iterable[Metric]:
        return self._families(populated=True)

    def _families(self, *, populated: bool) -> list[Metric]:
        unsealed = GaugeMetricFamily(UNSEALED, "1 when the server is unsealed, 0 when sealed")
        active = GaugeMetricFamily(LEASES_ACTIVE, "Leases not yet revoked (irrevocable excluded)")
        irrevocable = GaugeMetricFamily(
            LEASES_IRREVOCABLE, "Leases whose revocation failed every attempt; retried daily"
        )
        ages = GaugeMetricFamily(
            ROTATION_AGE,
            "Seconds since the last successful rotation, by mount and kind",
            labels=["mount", "kind"],
        )
        families: list[Metric] = [unsealed, active, irrevocable, ages]
        if not populated:
            return families
        unsealed.add_metric([], 0.0 if self._sealed() else 1.0)
        try:
            active.add_metric([], self._index.count(kind=KIND_LEASE, irrevocable=False))
            irrevocable.add_metric([], self._index.count(kind=KIND_LEASE, irrevocable=True))
        except Exception:
            log.exception("counting leases for the metrics failed")
            families = [unsealed, ages]
        for (mount, kind), age in sorted(self._metrics.rotation_ages().items()):
            ages.add_metric([mount, kind], age)
        return families
