"""The background ticker: a seal that lands while a tick runs is not an error; a tick that
takes long holds up no heartbeat."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import cast

import pytest
from tests.support.core_harness import make_harness

from awsbroker.core.core import Core
from awsbroker.sdk.errors import Sealed
from awsbroker.server.ticker import Ticker


class SealsMidTick:
    """Stands in for a core that `initialize` (or an operator) seals while its tick runs."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.ticked = threading.Event()

    def tick(self, *, wait: bool) -> int:
        self.ticked.set()
        raise self.error

    def beat(self) -> None:
        pass


def run_one_tick(core: SealsMidTick) -> None:
    ticker = Ticker(cast(Core, core), interval=0.01)
    ticker.start()
    assert core.ticked.wait(5)
    ticker.stop()


def test_a_seal_during_a_tick_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="awsbroker.server.ticker")
    run_one_tick(SealsMidTick(Sealed()))
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "Traceback" not in caplog.text


def test_any_other_failure_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    run_one_tick(SealsMidTick(RuntimeError("boom")))
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed
    assert failed[0].exc_info is not None


class SlowTick:
    """Stands in for a core whose tick waits on something slow (a periodic job's AWS calls)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.ticking = threading.Event()
        self.beats = 0

    def tick(self, *, wait: bool) -> int:
        self.ticking.set()
        self.release.wait(10)
        return 0

    def beat(self) -> None:
        self.beats += 1


def test_the_heartbeat_goes_on_while_a_tick_takes_long() -> None:
    core = SlowTick()
    ticker = Ticker(cast(Core, core), interval=0.01)
    ticker.start()
    try:
        assert core.ticking.wait(5)
        before = core.beats
        assert wait_until(lambda: core.beats >= before + 5)  # the tick is still running
        assert not core.release.is_set()
    finally:
        core.release.set()
        ticker.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_core_beats_while_unsealed_and_does_nothing_sealed() -> None:
    h = make_harness()
    h.clock.advance(h.core.nodes.heartbeat_every + 1)
    h.core.beat()
    [node] = h.core.nodes.live()
    assert node.seen == h.clock.now()
    h.core.seal_vault()
    h.clock.advance(h.core.nodes.heartbeat_every + 1)
    h.core.beat()  # sealed: nothing written, nothing raised


def test_a_periodic_job_that_meets_a_seal_ends_the_tick_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The core's side: a mount's periodic job sealed mid-way raises `Sealed` out of
    `Core.tick` (for the ticker above to treat quietly) instead of logging a failure; any
    other failure of a job is logged and the tick goes on."""
    h = make_harness()
    [engine] = h.engines

    def sealed() -> None:
        raise Sealed()

    engine.periodic = sealed  # type: ignore[method-assign]
    with pytest.raises(Sealed):
        h.core.tick(periodic_every=0)
    assert "periodic job" not in caplog.text

    def broken() -> None:
        raise RuntimeError("boom")

    engine.periodic = broken  # type: ignore[method-assign]
    h.core.tick(periodic_every=0)
    assert "periodic job of test/ failed" in caplog.text
