"""Automated root rotation (config/root's rotation fields) on an injected clock: validation,
periods, cron schedules and windows, changes that reschedule, disabling, failures retried, a
restart that keeps the schedule; and the pure schedule arithmetic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.aws_rotation import World, fresh_world
from tests.support.moto_server import MotoServer

from awsbroker.engines.aws import root_schedule, schedule
from awsbroker.engines.aws.records import root_config
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONValue, Operation

U, R = Operation.UPDATE, Operation.READ
JOB = root_schedule.JOB


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    yield w
    w.close()


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def rotations(world: World) -> int:
    return len(world.proxy.calls("CreateAccessKey"))


# --- validation (the reference's messages first, then the rotation manager's minimums) ------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"rotation_schedule": "0 * * * *", "rotation_period": "1h"},
            "mutually exclusive fields rotation_schedule and rotation_period were both "
            "specified; only one of them can be provided",
        ),
        (
            {"rotation_period": "1h", "rotation_window": "2h"},
            "rotation_window does not apply to period",
        ),
        ({"rotation_window": "1h"}, "cannot use rotation_window without rotation_schedule"),
        (
            {"rotation_schedule": "random string"},
            "failed to parse provided rotation_schedule: expected exactly 5 fields, found 2: "
            "[random string]",
        ),
        (
            {"rotation_schedule": "* * * * * *"},
            "failed to parse provided rotation_schedule: expected exactly 5 fields, found 6: "
            "[* * * * * *]",
        ),
        ({"rotation_period": 9}, "rotation_period must be at least 10 seconds, got 9"),
        (
            {"rotation_schedule": "0 0 * * *", "rotation_window": "59m"},
            "rotation_window must be at least 3600 seconds, got 3540",
        ),
    ],
)
def test_bad_rotation_settings_are_refused(
    world: World, fields: dict[str, JSONValue], message: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        world.ok(U, "config/root", **fields)
    assert info.value.messages == [message]
    assert world.system.jobs == {}
    assert world.ok(R, "config/root")["rotation_period"] == 0
    assert world.actions() == []


def test_a_bad_cron_field_is_refused(world: World) -> None:
    with pytest.raises(InvalidRequest) as info:
        world.ok(U, "config/root", rotation_schedule="61 * * * *")
    assert info.value.messages[0].startswith("failed to parse provided rotation_schedule: ")


NEVER = "0 0 31 2 *"  # the 31st of February
NEVER_FIRES = (
    f'rotation_schedule "{NEVER}" never fires: no date matches it; send another, '
    'or "" to turn the schedule off'
)


def test_a_schedule_that_never_fires_is_refused(world: World) -> None:
    with pytest.raises(InvalidRequest) as info:
        world.ok(U, "config/root", rotation_schedule=NEVER)
    assert info.value.messages == [NEVER_FIRES]
    assert world.ok(R, "config/root")["rotation_schedule"] == ""
    assert world.system.jobs == {}


def test_a_stored_schedule_that_never_fires_breaks_nothing(world: World) -> None:
    """One stored before the write refused it: the job, a rotation and a read still work, and a
    write says what to change instead of failing with a 500."""
    world.ok(U, "config/root", rotation_schedule="0 0 * * *")
    config = root_config.load(world.backend)
    assert config is not None
    config.rotation_schedule = NEVER
    world.storage.put(root_config.STORAGE_KEY, config.to_record())

    assert world.backend.run_job(JOB) is None  # the job: nothing due, ever
    assert rotations(world) == 0
    world.ok(U, "config/rotate-root")  # a manual rotation: done, and nothing scheduled after
    assert rotations(world) == 1
    assert world.system.jobs == {}
    assert world.ok(R, "config/root")["next_vault_rotation"] is None
    with pytest.raises(InvalidRequest) as info:
        world.ok(U, "config/root", region="us-east-1")
    assert info.value.messages == [NEVER_FIRES]
    world.ok(U, "config/root", rotation_schedule="", region="us-east-1")  # the way out
    world.ok(U, "config/root", region="us-west-2")
    assert world.ok(R, "config/root")["region"] == "us-west-2"


def test_next_time_of_a_schedule_that_never_fires_is_none() -> None:
    assert schedule.next_time(0, NEVER, at("2024-01-01T00:00:00")) is None
    assert schedule.next_time(0, "0 0 29 2 *", at("2024-03-01T00:00:00")) == at(
        "2028-02-29T00:00:00"
    )


# --- periods -------------------------------------------------------------------------------


def test_period_rotates_on_time_and_again(world: World) -> None:
    start = world.clock.now()
    world.ok(U, "config/root", rotation_period="1h")
    assert world.system.jobs == {JOB: start + 3600}
    data = world.ok(R, "config/root")
    assert data["next_vault_rotation"] == schedule.rfc3339(start + 3600)
    assert data["rotation_period"] == 3600

    world.clock.advance(3599)
    world.run_jobs()
    assert rotations(world) == 0
    world.clock.advance(1)
    assert world.run_jobs() == [JOB]
    first = world.config_key()
    assert first != world.root_key[0]
    assert world.key_ids() == [first]
    assert world.system.jobs == {JOB: start + 7200}
    assert world.ok(R, "config/root")["last_vault_rotation"] == schedule.rfc3339(start + 3600)

    world.clock.advance(3600)
    world.run_jobs()
    assert rotations(world) == 2
    assert world.key_ids() == [world.config_key()]


def test_a_stale_run_does_not_rotate_twice(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.clock.advance(3600)
    world.run_jobs()
    # Another process held an old claim and runs the job again: not due, nothing happens.
    assert world.backend.run_job(JOB) == world.clock.now() + 3600
    assert rotations(world) == 1


def test_changing_the_period_reschedules_and_other_writes_do_not(world: World) -> None:
    start = world.clock.now()
    world.ok(U, "config/root", rotation_period="1h")
    world.clock.advance(600)
    world.ok(U, "config/root", region="us-east-1")  # not a rotation setting
    assert world.system.jobs == {JOB: start + 3600}
    world.ok(U, "config/root", rotation_period="2h")
    assert world.system.jobs == {JOB: start + 600 + 7200}
    world.clock.advance(3000)  # past the old time
    world.run_jobs()
    assert rotations(world) == 0
    world.clock.advance(7200 - 3000)
    world.run_jobs()
    assert rotations(world) == 1


def test_disabling_cancels_and_enabling_reschedules(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.ok(U, "config/root", disable_automated_rotation=True)
    assert world.system.jobs == {}
    assert world.ok(R, "config/root")["next_vault_rotation"] is None
    world.clock.advance(7200)
    world.run_jobs()
    assert rotations(world) == 0
    world.ok(U, "config/root", disable_automated_rotation=False)
    assert world.system.jobs == {JOB: world.clock.now() + 3600}
    world.ok(U, "config/root", rotation_period=0)
    assert world.system.jobs == {}


def test_a_stale_job_after_disabling_does_nothing(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.storage.put(  # the job outlived the setting (written by another process)
        root_schedule.STATE_KEY, root_schedule.RootSchedule(next=world.clock.now()).to_record()
    )
    world.ok(U, "config/root", disable_automated_rotation=True)
    assert world.backend.run_job(JOB) is None
    assert rotations(world) == 0


def test_manual_rotation_moves_the_period(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.clock.advance(1000)
    world.ok(U, "config/rotate-root")
    assert world.system.jobs == {JOB: world.clock.now() + 3600}


def test_failed_rotation_is_retried_with_backoff(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.clock.advance(3600)
    world.proxy.inject("CreateAccessKey", 500, "ServiceFailure", "down", times=2)
    world.run_jobs()
    assert world.system.jobs[JOB] == world.clock.now() + 10
    world.clock.advance(10)
    world.run_jobs()
    assert world.system.jobs[JOB] == world.clock.now() + 20
    world.clock.advance(20)
    world.run_jobs()
    assert world.key_ids() == [world.config_key()] != [world.root_key[0]]
    assert world.system.jobs[JOB] == world.clock.now() + 3600


def test_the_schedule_survives_a_restart(world: World) -> None:
    world.ok(U, "config/root", rotation_period="1h")
    world.restart()  # the job schedule is the core's (durable); the engine keeps nothing
    world.clock.advance(3600)
    assert world.run_jobs() == [JOB]
    assert rotations(world) == 1


# --- cron schedules and windows ------------------------------------------------------------


def test_cron_schedule_in_utc(world: World) -> None:
    world.clock.advance(at("2024-01-01T10:00:00") - world.clock.now())  # a Monday
    world.ok(U, "config/root", rotation_schedule="0 0 * * SAT")
    assert world.system.jobs == {JOB: at("2024-01-06T00:00:00")}
    assert world.ok(R, "config/root")["next_vault_rotation"] == "2024-01-06T00:00:00Z"
    world.clock.advance(at("2024-01-06T00:00:05") - world.clock.now())
    world.run_jobs()
    assert rotations(world) == 1
    assert world.system.jobs == {JOB: at("2024-01-13T00:00:00")}


def test_late_run_within_the_window_rotates(world: World) -> None:
    world.clock.advance(at("2024-01-01T10:00:00") - world.clock.now())
    world.ok(U, "config/root", rotation_schedule="0 12 * * *", rotation_window="2h")
    world.clock.advance(at("2024-01-01T13:59:00") - world.clock.now())  # down until now
    world.run_jobs()
    assert rotations(world) == 1
    assert world.system.jobs == {JOB: at("2024-01-02T12:00:00")}


def test_late_run_past_the_window_waits_for_the_next_time(world: World) -> None:
    world.clock.advance(at("2024-01-01T10:00:00") - world.clock.now())
    world.ok(U, "config/root", rotation_schedule="0 12 * * *", rotation_window="1h")
    world.clock.advance(at("2024-01-01T13:30:00") - world.clock.now())
    world.run_jobs()
    assert rotations(world) == 0
    assert world.system.jobs == {JOB: at("2024-01-02T12:00:00")}
    world.clock.advance(at("2024-01-02T12:00:30") - world.clock.now())
    world.run_jobs()
    assert rotations(world) == 1


def test_without_a_window_a_late_run_rotates(world: World) -> None:
    world.clock.advance(at("2024-01-01T10:00:00") - world.clock.now())
    world.ok(U, "config/root", rotation_schedule="0 12 * * *")
    world.clock.advance(at("2024-01-03T09:00:00") - world.clock.now())  # two days late
    world.run_jobs()
    assert rotations(world) == 1
    assert world.system.jobs == {JOB: at("2024-01-03T12:00:00")}


def test_switching_from_period_to_schedule(world: World) -> None:
    world.clock.advance(at("2024-01-01T10:00:00") - world.clock.now())
    world.ok(U, "config/root", rotation_period="1h")
    world.ok(U, "config/root", rotation_period=0, rotation_schedule="30 * * * *")
    assert world.system.jobs == {JOB: at("2024-01-01T10:30:00")}


# --- the arithmetic ------------------------------------------------------------------------


def test_next_time() -> None:
    assert schedule.next_time(0, "", 100.0) is None
    assert schedule.next_time(60, "", 100.0) == 160.0
    assert schedule.next_time(0, "*/15 * * * *", at("2024-01-01T00:07:00")) == at(
        "2024-01-01T00:15:00"
    )
    assert schedule.next_time(0, "0 0 1 * *", at("2024-01-01T00:00:00")) == at(
        "2024-02-01T00:00:00"
    )


def test_rfc3339_round_trip() -> None:
    assert schedule.rfc3339(at("2024-05-06T07:08:09") + 0.9) == "2024-05-06T07:08:09Z"
    assert schedule.parse_rfc3339("2024-05-06T07:08:09Z") == at("2024-05-06T07:08:09")
    assert schedule.parse_rfc3339("2024-05-06T07:08:09.123456789Z") == pytest.approx(
        at("2024-05-06T07:08:09") + 0.123456
    )
    assert schedule.parse_rfc3339("2024-05-06T09:08:09+02:00") == at("2024-05-06T07:08:09")
