"""The core's metrics: a registry per core, the catalogue, scrape-time state, `sys/metrics`."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.support.core_harness import Harness, make_harness, rule

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.expiration import RevocationPolicy
from awsbroker.core.metrics import PROMETHEUS_CONTENT_TYPE, Metrics
from awsbroker.core.system.backend import SystemBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied, Sealed
from awsbroker.sdk.logical import Operation, Request, Secret
from awsbroker.sdk.telemetry import (
    AWS_CALL_SECONDS,
    AWS_CALLS,
    CREDENTIALS_ISSUED,
    ROTATION_LAST_SUCCESS,
)

R, U = Operation.READ, Operation.UPDATE


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by (name, sorted labels)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(h: Harness | Metrics, name: str, **labels: str) -> float:
    metrics = h.core.metrics if isinstance(h, Harness) else h
    return samples(metrics.prometheus().decode()).get((name, tuple(sorted(labels.items()))), 0.0)


def test_reported_measurements_show_in_the_exposition() -> None:
    metrics = Metrics(ManualClock())
    labels = {"mount": "aws/", "role": "ci", "credential_type": "iam_user"}
    metrics.count(CREDENTIALS_ISSUED, labels)
    metrics.count(CREDENTIALS_ISSUED, dict(reversed(labels.items())))  # the same series
    metrics.count(AWS_CALLS, {"service": "iam", "operation": "CreateUser", "error_code": ""})
    metrics.observe(AWS_CALL_SECONDS, 0.2, {"service": "iam", "operation": "CreateUser"})
    assert value(metrics, "awsbroker_credentials_issued_total", **labels) == 2
    call = {"service": "iam", "operation": "CreateUser"}
    assert value(metrics, "awsbroker_aws_calls_total", error_code="", **call) == 1
    assert value(metrics, "awsbroker_aws_call_duration_seconds_count", **call) == 1
    assert value(metrics, "awsbroker_aws_call_duration_seconds_sum", **call) == pytest.approx(0.2)


def test_unknown_names_and_wrong_labels_are_ignored_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics(ManualClock())
    metrics.count("awsbroker_no_such_metric", {})
    metrics.count(CREDENTIALS_ISSUED, {"mount": "aws/"})  # labels missing
    metrics.gauge(CREDENTIALS_ISSUED, 1.0, {})  # a counter, not a gauge
    labels = {"mount": "aws/", "role": "ci", "credential_type": "iam_user"}
    metrics.count(CREDENTIALS_ISSUED, labels)
    metrics.observe(CREDENTIALS_ISSUED, 1.0, labels)  # a counter's series, asked as a histogram
    metrics.count(CREDENTIALS_ISSUED, labels, amount=-1)  # counters only go up
    assert value(metrics, "awsbroker_credentials_issued_total", **labels) == 1
    assert "awsbroker_no_such_metric" in caplog.text
    assert 'credentials_issued_total{mount="aws/"}' not in metrics.prometheus().decode()


def test_two_cores_never_share_a_metric() -> None:
    one, two = make_harness(), make_harness()
    one.creds("a")
    assert value(one, "awsbroker_leases_active") == 1
    assert value(two, "awsbroker_leases_active") == 0
    assert one.core.metrics.registry is not two.core.metrics.registry


def test_a_lease_its_engine_revokes_within_its_own_revocation_is_counted_once() -> None:
    """An engine's revocation may revoke other leases of the same identity at once (a cut of
    older AWS sessions), this one included: it is counted once, by whoever deleted it, and
    listed once."""
    h = make_harness()
    lease_id = h.creds("a").lease_id
    h.clock.advance(1)
    nested: list[list[str]] = []

    def cut(secret: Secret) -> None:
        if nested:
            return
        nested.append([])  # before the nested walk, which revokes this lease again
        nested[0] = h.core.expiration.revoke_issued_before(
            "test/creds/", h.clock.now(), lambda data: True
        )

    h.engine.during_revoke = cut
    assert (
        h.core.expiration.revoke_issued_before("test/creds/", h.clock.now(), lambda data: True)
        == []
    )
    assert nested[0] == [lease_id]
    assert value(h, "awsbroker_lease_revocations_total", mount="test/") == 1


def test_lease_gauges_and_revocation_counters_follow_the_lease_manager() -> None:
    h = make_harness(revocation=RevocationPolicy(max_attempts=2, base_delay=1.0))
    first = h.creds("a", {"ttl": "10s"})
    h.creds("b")
    assert value(h, "awsbroker_leases_active") == 2
    h.call(U, "sys/leases/revoke", {"lease_id": first.lease_id})
    assert value(h, "awsbroker_lease_revocations_total", mount="test/") == 1
    assert value(h, "awsbroker_leases_active") == 1
    h.engine.fail_revocations()
    h.creds("c", {"ttl": "10s"})
    for _ in range(4):
        h.clock.advance(20)
        h.core.tick()
    assert value(h, "awsbroker_lease_revocation_failures_total", mount="test/") == 2
    assert value(h, "awsbroker_leases_irrevocable") == 1
    assert value(h, "awsbroker_leases_active") == 1


def test_seal_state_and_rotation_age() -> None:
    h = make_harness()
    assert value(h, "awsbroker_core_unsealed") == 1
    h.core.metrics.gauge(ROTATION_LAST_SUCCESS, h.clock.now(), {"mount": "aws/", "kind": "root"})
    h.clock.advance(90)
    age = value(h, "awsbroker_rotation_seconds_since_last_success", mount="aws/", kind="root")
    assert age == 90
    h.core.seal_vault()
    assert value(h, "awsbroker_core_unsealed") == 0


def test_requests_are_counted_by_operation_mount_and_status() -> None:
    metrics = Metrics(ManualClock())
    request = Request(R, "test/creds/a", mount_point="test/")
    metrics.observe_request(request, 200, 0.01)
    metrics.observe_request(request, 200, 0.01)
    metrics.observe_request(None, 404, 0.001)
    assert (
        value(metrics, "awsbroker_requests_total", operation="read", mount="test/", status="200")
        == 2
    )
    assert value(metrics, "awsbroker_requests_total", operation="invalid", mount="", status="404")


def test_sys_metrics_serves_prometheus_text_and_a_json_summary() -> None:
    h = make_harness()
    h.creds("a")
    text = h.ok(R, "sys/metrics", {"format": "prometheus"})
    assert text.body is not None
    assert text.body.content_type == PROMETHEUS_CONTENT_TYPE
    assert b"awsbroker_leases_active 1.0" in text.body.content
    summary = h.ok(R, "sys/metrics").raw
    assert summary is not None
    json.dumps(summary)  # plain JSON
    gauges = {g["Name"]: g["Value"] for g in summary["Gauges"]}  # type: ignore[index, union-attr]
    assert gauges["awsbroker_leases_active"] == 1
    assert set(summary) == {"Timestamp", "Gauges", "Counters", "Samples"}
    with pytest.raises(InvalidRequest, match="unsupported format"):
        h.call(R, "sys/metrics", {"format": "statsd"})


def test_sys_metrics_needs_read_on_it_unless_the_config_opens_it() -> None:
    h = make_harness()
    with pytest.raises(PermissionDenied):
        h.call(R, "sys/metrics", token=h.token({"policies": ["default"]}))
    with pytest.raises(PermissionDenied):
        h.call(R, "sys/metrics", token="")
    h.policy("metrics", rule("sys/metrics", "read"))
    assert h.ok(R, "sys/metrics", token=h.token({"policies": ["metrics"]})).raw is not None


def test_open_metrics_answer_without_a_token_and_while_sealed() -> None:
    config = CoreConfig(clock=ManualClock(), unauthenticated_metrics_access=True)
    core = Core(InmemStorage(), {}, config, system_backend=SystemBackend)
    response = core.handle(Request(R, "sys/metrics", {"format": "prometheus"}))
    assert response is not None
    assert response.body is not None
    assert b"awsbroker_core_unsealed 0.0" in response.body.content
    with pytest.raises(Sealed):
        core.handle(Request(R, "sys/mounts"))
    core.close()
