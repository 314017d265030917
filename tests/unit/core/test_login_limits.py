"""The login throttle's token bucket (core/login_limits.py), on a clock that moves when told."""

from __future__ import annotations

import logging

import pytest

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.login_limits import LoginRateLimit, LoginThrottle, source
from awsbroker.core.mounts import new_entry
from awsbroker.core.system.backend import SystemBackend
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import InvalidRequest, RateLimited, UpstreamError
from awsbroker.sdk.fields import Field, FieldData, FieldType
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend, Path
from awsbroker.sdk.logical import Auth, Operation, Request, Response


def throttle(clock: ManualClock, **limit: float) -> LoginThrottle:
    settings = {"failures_per_minute": 6.0, "burst": 3, **limit}
    return LoginThrottle(LoginRateLimit(**settings), clock)  # type: ignore[arg-type]


def test_burst_failures_then_a_wait_of_one_refill() -> None:
    clock = ManualClock()
    t = throttle(clock)
    for _ in range(3):
        assert t.retry_after("m", "10.0.0.1", "auth/m/") == 0
        t.failed("m", "10.0.0.1")
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 10  # 6 a minute: one every 10s
    clock.advance(4)
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 6
    clock.advance(6)
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 0
    t.failed("m", "10.0.0.1")  # the refilled attempt, spent
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 10


def test_keys_are_mount_and_address() -> None:
    t = throttle(ManualClock(), burst=1)
    t.failed("m", "10.0.0.1")
    assert t.retry_after("m", "10.0.0.1", "auth/m/") > 0
    assert t.retry_after("m", "10.0.0.2", "auth/m/") == 0
    assert t.retry_after("n", "10.0.0.1", "auth/n/") == 0


def test_memory_is_bounded_oldest_first_and_full_buckets_forgotten() -> None:
    clock = ManualClock()
    t = throttle(clock, burst=1, max_addresses=2)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        t.failed("m", address)
    assert t.tracked() == 2
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 0  # evicted: the oldest
    assert t.retry_after("m", "10.0.0.3", "auth/m/") > 0
    clock.advance(60)
    assert t.retry_after("m", "10.0.0.3", "auth/m/") == 0
    assert t.tracked() == 1  # 10.0.0.3 refilled and was dropped; 10.0.0.2 not yet looked at


def test_one_warning_per_throttled_window(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    t = throttle(clock, burst=1)
    caplog.set_level(logging.WARNING, "awsbroker.core.login")
    t.failed("m", "10.0.0.1")
    for _ in range(3):
        t.retry_after("m", "10.0.0.1", "auth/m/")
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage() == (
        "login attempts from 10.0.0.1 on auth/m/ throttled for 10s after repeated failures"
    )
    clock.advance(10)
    t.retry_after("m", "10.0.0.1", "auth/m/")
    t.failed("m", "10.0.0.1")
    t.retry_after("m", "10.0.0.1", "auth/m/")
    assert len(caplog.records) == 2  # a new window, a new warning


def test_disabled_never_throttles() -> None:
    t = throttle(ManualClock(), burst=1, disable=True)
    for _ in range(5):
        t.failed("m", "10.0.0.1")
    assert t.retry_after("m", "10.0.0.1", "auth/m/") == 0
    assert t.tracked() == 0


# ---- in the core: what counts as a failure ---------------------------------------------------


class Gate(FrameworkBackend["Gate"]):
    """An auth method whose login answers what it is told: `ok`, `bad` (400), `down` (502)."""

    def __init__(self, config: BackendConfig) -> None:
        super().__init__(
            self,
            [Path("login", {Operation.UPDATE: _login}, {"outcome": Field(FieldType.STRING)})],
            unauthenticated_paths=["login"],
        )


def _login(b: Gate, req: Request, fd: FieldData) -> Response:
    outcome = fd.get_str("outcome")
    if outcome == "bad":
        raise InvalidRequest("invalid credentials")
    if outcome == "down":
        raise UpstreamError("the identity provider cannot be reached")
    return Response(auth=Auth(display_name="x"))


@pytest.fixture
def core() -> Core:
    clock = ManualClock()
    config = CoreConfig(clock=clock, login_rate_limit=LoginRateLimit(6.0, burst=2))
    core = Core(
        InmemStorage(), {}, config, system_backend=SystemBackend, auth_methods={"gate": Gate}
    )
    keys, _ = core.initialize(1, 1)
    core.submit_unseal_key(keys[0])
    core.enable_auth(new_entry("auth/gate/", "gate"))
    return core


def attempt(core: Core, outcome: str, address: str = "10.0.0.1") -> Response | None:
    request = Request(Operation.UPDATE, "auth/gate/login", {"outcome": outcome})
    request.remote_address = address
    return core.handle(request)


def test_only_the_callers_failures_count(core: Core) -> None:
    for _ in range(5):  # the method's own trouble is not the caller's fault
        with pytest.raises(UpstreamError):
            attempt(core, "down")
    for _ in range(5):  # nor are successes
        assert attempt(core, "ok") is not None
    for _ in range(2):
        with pytest.raises(InvalidRequest):
            attempt(core, "bad")
    with pytest.raises(RateLimited) as refused:
        attempt(core, "ok")
    assert refused.value.retry_after == 10
    assert attempt(core, "ok", address="10.0.0.2") is not None


def test_an_ipv6_host_is_its_64_network() -> None:
    assert source("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert source("::ffff:10.0.0.1") == "10.0.0.1"
    assert source("10.0.0.1") == "10.0.0.1"
    t = throttle(ManualClock(), burst=1)
    t.failed("m", "2001:db8:1:2::1")
    assert t.retry_after("m", "2001:db8:1:2::ffff", "auth/m/") > 0  # same /64
    assert t.retry_after("m", "2001:db8:1:3::1", "auth/m/") == 0
