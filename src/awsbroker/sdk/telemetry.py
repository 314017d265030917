"""How any layer reports a measurement without knowing who collects it.

A backend gets a `Telemetry` in its `BackendConfig` and calls `count`, `observe` or `gauge`
with a metric name from the catalogue below and its labels. The core's collector (Prometheus)
implements the protocol; `NullTelemetry` drops everything, for tests and tools. Reporting never
raises: a measurement that cannot be recorded is not a reason to fail a request.

The catalogue is the contract between producers and the exposition: each `MetricSpec` names a
metric, its kind and its label names. Counters are named without Prometheus' `_total` suffix
(the exposition adds it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class Kind(enum.StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()


# ---- names reported by backends through `Telemetry` ------------------------------------------

CREDENTIALS_ISSUED = "awsbroker_credentials_issued"
AWS_CALLS = "awsbroker_aws_calls"
AWS_CALL_SECONDS = "awsbroker_aws_call_duration_seconds"
ROTATION_LAST_SUCCESS = "awsbroker_rotation_last_success_timestamp_seconds"
# Issue 19 section 1: a session deny policy found changed or removed on AWS, and rewritten.
SESSION_DENY_REWRITES = "awsbroker_session_deny_rewrites"

# ---- names reported by the core ----------------------------------------------------------------

REQUESTS = "awsbroker_requests"
REQUEST_SECONDS = "awsbroker_request_duration_seconds"
LEASE_REVOCATIONS = "awsbroker_lease_revocations"
LEASE_REVOCATION_FAILURES = "awsbroker_lease_revocation_failures"
AUDIT_FAILURES = "awsbroker_audit_log_failures"
LOGIN_FAILURES = "awsbroker_login_failures"
LOGIN_THROTTLED = "awsbroker_login_throttled"

CATALOGUE: tuple[MetricSpec, ...] = (
    MetricSpec(
        REQUESTS,
        Kind.COUNTER,
        "API requests answered, by operation, mount and HTTP status",
        ("operation", "mount", "status"),
    ),
    MetricSpec(
        REQUEST_SECONDS,
        Kind.HISTOGRAM,
        "Time to answer an API request",
        ("operation", "mount"),
    ),
    MetricSpec(
        CREDENTIALS_ISSUED,
        Kind.COUNTER,
        "Credentials issued under a lease, by mount, role and credential type",
        ("mount", "role", "credential_type"),
    ),
    MetricSpec(
        AWS_CALLS,
        Kind.COUNTER,
        "Calls to AWS APIs (after the SDK's retries), by service, operation and error code "
        "('' when the call succeeded)",
        ("service", "operation", "error_code"),
    ),
    MetricSpec(
        AWS_CALL_SECONDS,
        Kind.HISTOGRAM,
        "Latency of calls to AWS APIs, retries included",
        ("service", "operation"),
    ),
    MetricSpec(
        LEASE_REVOCATIONS,
        Kind.COUNTER,
        "Leases revoked through their backend",
        ("mount",),
    ),
    MetricSpec(
        LEASE_REVOCATION_FAILURES,
        Kind.COUNTER,
        "Failed revocation attempts of the expiry worker, each followed by a retry",
        ("mount",),
    ),
    MetricSpec(
        AUDIT_FAILURES,
        Kind.COUNTER,
        "Audit entries a device failed to record, by device path and entry type",
        ("device", "type"),
    ),
    MetricSpec(
        LOGIN_FAILURES,
        Kind.COUNTER,
        "Failed logins and credential checks (refused as the caller's fault), by auth mount",
        ("mount",),
    ),
    MetricSpec(
        LOGIN_THROTTLED,
        Kind.COUNTER,
        "Logins and credential checks refused with 429 after repeated failures, by auth mount",
        ("mount",),
    ),
    MetricSpec(
        ROTATION_LAST_SUCCESS,
        Kind.GAUGE,
        "Unix time of the last successful credential rotation, by mount and kind "
        "('root' or 'static:<role>')",
        ("mount", "kind"),
    ),
    MetricSpec(
        SESSION_DENY_REWRITES,
        Kind.COUNTER,
        "Session deny policies found changed or removed on AWS and written again (drift), by "
        "mount and kind of identity ('role' or 'user')",
        ("mount", "kind"),
    ),
)


class Telemetry(Protocol):
    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        """Add `amount` to a counter."""
        ...

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Record one observation of a histogram (a latency in seconds)."""
        ...

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """Set a gauge."""
        ...


class NullTelemetry:
    """Drops every measurement."""

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        return None

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        return None

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        return None
