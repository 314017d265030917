"""AWS calls in helper processes: real helpers (`python -m ...transport.pool`) against the fake
AWS on loopback."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator

import botocore.exceptions
import pytest
from tests.support.fake_aws import FakeAWS
from tests.support.lifecycle import exited
from tests.support.reliability import wait_for
from tests.support.telemetry import RecordingTelemetry

from awsbroker.engines.aws.transport import pool as pool_module
from awsbroker.engines.aws.transport.endpoints import ClientSpec, Service
from awsbroker.engines.aws.transport.errors import aws_error
from awsbroker.engines.aws.transport.pool import CallPool, CallProcessGone
from awsbroker.sdk.errors import UpstreamError
from awsbroker.sdk.telemetry import AWS_CALL_SECONDS, AWS_CALLS, NullTelemetry

KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
DEADLINE = 20.0


@pytest.fixture(scope="module")
def aws() -> Iterator[FakeAWS]:
    with FakeAWS(latency=0) as fake:
        yield fake


@pytest.fixture
def pool() -> Iterator[CallPool]:
    calls = CallPool(processes=1)
    yield calls
    calls.close()


def spec(aws: FakeAWS, service: Service = "iam", max_retries: int = 0) -> ClientSpec:
    return ClientSpec(service, "us-east-1", aws.endpoint, KEY[0], KEY[1], max_retries)


def test_a_call_runs_in_a_helper_process_and_returns_the_parsed_answer(
    aws: FakeAWS, pool: CallPool
) -> None:
    assert pool.pids() == []  # nothing starts before the first call
    iam = pool.iam(spec(aws), NullTelemetry())
    created = iam.create_user(UserName="remote-user", Path="/")
    assert created["User"]["UserName"] == "remote-user"
    assert aws.state.users["remote-user"]
    key = iam.create_access_key(UserName="remote-user")["AccessKey"]
    assert key["AccessKeyId"]
    assert key["SecretAccessKey"]
    [pid] = pool.pids()
    assert pid != os.getpid()


def test_an_aws_error_comes_back_as_a_client_error_with_its_code(
    aws: FakeAWS, pool: CallPool
) -> None:
    iam = pool.iam(spec(aws), NullTelemetry())
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iam.get_user(UserName="nobody")
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.operation_name == "GetUser"


def test_a_refused_parameter_comes_back_as_the_sdk_raised_it(aws: FakeAWS, pool: CallPool) -> None:
    sts = pool.sts(spec(aws, "sts"), NullTelemetry())
    with pytest.raises(botocore.exceptions.ParamValidationError, match="DurationSeconds"):
        sts.get_session_token(DurationSeconds=1)


def test_the_calls_metrics_reach_the_servers_telemetry(aws: FakeAWS, pool: CallPool) -> None:
    telemetry = RecordingTelemetry()
    iam = pool.iam(spec(aws), telemetry)
    iam.create_user(UserName="counted")
    with pytest.raises(botocore.exceptions.ClientError):
        iam.get_user(UserName="not-counted-twice")
    assert telemetry.counts == [
        (AWS_CALLS, {"service": "iam", "operation": "CreateUser", "error_code": ""}),
        (AWS_CALLS, {"service": "iam", "operation": "GetUser", "error_code": "NoSuchEntity"}),
    ]
    assert [(name, labels["operation"]) for name, _, labels in telemetry.observations] == [
        (AWS_CALL_SECONDS, "CreateUser"),
        (AWS_CALL_SECONDS, "GetUser"),
    ]


def test_concurrent_calls_each_get_their_own_answer(aws: FakeAWS) -> None:
    pool = CallPool(processes=2)
    try:
        iam = pool.iam(spec(aws), NullTelemetry())
        names = [f"concurrent-{i}" for i in range(40)]
        answers: dict[str, str] = {}

        def create(name: str) -> None:
            answers[name] = iam.create_user(UserName=name)["User"]["UserName"]

        threads = [threading.Thread(target=create, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == {n: n for n in names}
        assert len(pool.pids()) == 2
    finally:
        pool.close()


def test_a_helper_that_dies_fails_its_calls_in_flight_and_is_replaced(
    aws: FakeAWS, pool: CallPool
) -> None:
    sts = pool.sts(spec(aws, "sts"), NullTelemetry())
    sts.get_caller_identity()  # the helper is up
    [pid] = pool.pids()
    failures: list[BaseException] = []

    def slow_call() -> None:
        try:
            sts.get_caller_identity()
        except BaseException as exc:
            failures.append(exc)

    aws.latency = 30.0
    received = aws.received
    try:
        caller = threading.Thread(target=slow_call)
        caller.start()
        # At AWS, so the helper holds it: a kill while the call is still being sent to the
        # helper fails the send itself, with the socket's error instead of the exit status.
        wait_for(
            lambda: aws.received > received,
            timeout=DEADLINE,
            interval=0.01,
            what="the call to reach AWS through the helper",
        )
        assert aws_inflight(pool) == 1
        os.kill(pid, signal.SIGKILL)
        caller.join(DEADLINE)
        assert not caller.is_alive()
    finally:
        aws.latency = 0
    [failure] = failures
    assert isinstance(failure, CallProcessGone)
    assert "exit status -9" in str(failure)
    # The engine reports it as AWS being unreachable: 502, and a revocation is retried.
    assert isinstance(aws_error("Error assuming role", failure), UpstreamError)
    # The next call starts a new helper.
    assert sts.get_caller_identity()["Arn"]
    [new_pid] = pool.pids()
    assert new_pid != pid


def aws_inflight(pool: CallPool) -> int:
    return sum(len(h.pending) for h in pool._helpers)


def test_closing_the_pool_ends_its_helpers_and_refuses_later_calls(aws: FakeAWS) -> None:
    pool = CallPool(processes=2)
    try:
        iam = pool.iam(spec(aws), NullTelemetry())
        iam.get_user()
        pids = pool.pids()
        assert len(pids) == 2
    finally:
        pool.close()
    assert all(exited(pid) for pid in pids)
    with pytest.raises(CallProcessGone, match="shutting down"):
        iam.get_user()


def test_the_helper_keeps_a_bounded_number_of_clients(aws: FakeAWS) -> None:
    clients = pool_module._Clients(NullTelemetry(), size=2)
    clients.specs.update({n: spec(aws, max_retries=n) for n in (1, 2, 3)})
    first = clients.get(1)
    assert clients.get(1) is first
    clients.get(2)
    clients.get(3)
    assert clients.get(1) is not first  # the oldest was dropped


def test_equal_specs_share_one_client_and_its_key_crosses_once(
    aws: FakeAWS, pool: CallPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool.iam(spec(aws), NullTelemetry()).get_user()
    [helper] = pool._helpers
    sent: list[bytes] = []
    send = helper.conn.send

    def recording(message: object) -> None:
        sent.append(pickle.dumps(message))
        send(message)

    monkeypatch.setattr(helper.conn, "send", recording)
    pool.iam(spec(aws), NullTelemetry()).get_user()  # an equal spec, another proxy
    assert len(sent) == 1  # the call only: the helper knows the client
    assert KEY[1].encode() not in sent[0]
    pool.sts(spec(aws, "sts"), NullTelemetry()).get_caller_identity()  # a new client: its spec
    assert len(sent) == 3
    assert KEY[1].encode() in sent[1]
    assert KEY[1].encode() not in sent[2]


def test_an_exception_that_cannot_cross_becomes_a_runtime_error() -> None:
    class Local(Exception):  # not importable by the server: a local class
        pass

    crossed = pool_module._portable(Local("boom"))
    assert isinstance(crossed, RuntimeError)
    assert str(crossed) == "Local: boom"
    pickle.dumps(crossed)
    modeled = botocore.exceptions.ClientError({"Error": {"Code": "X"}}, "Op")
    assert type(pool_module._portable(modeled)) is botocore.exceptions.ClientError


def test_a_helper_runs_only_the_operations_of_the_engines_protocols(aws: FakeAWS) -> None:
    clients = pool_module._Clients(NullTelemetry())
    clients.specs[0] = spec(aws)
    assert clients.operation(0, "get_user")
    with pytest.raises(AttributeError, match="not an operation"):
        clients.operation(0, "delete_role")


def test_a_spec_keeps_its_secret_out_of_its_repr(aws: FakeAWS) -> None:
    assert KEY[1] not in repr(spec(aws))


def test_a_helper_that_cannot_start_fails_the_call_as_unreachable_aws(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    pool = CallPool(processes=1)
    try:
        iam = pool.iam(spec(aws), NullTelemetry())
        with pytest.raises(CallProcessGone, match="none could be started") as caught:
            iam.get_user()
        assert isinstance(aws_error("Error reading the user", caught.value), UpstreamError)
    finally:
        pool.close()


def test_a_pool_needs_a_process() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CallPool(processes=0)
