"""Static roles (rules 43-50 and where we go past Vault): the persisted job schedule, rotations
that replace the key, period changes that reschedule, grace periods, deletion, cross-account
roles, the two-key limit, and crashes at every step of a rotation. Moto with auth on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.aws_rotation import Crash, World, allow_all_role_in, fresh_world
from tests.support.moto_server import MotoServer

from awsbroker.engines.aws import rotation_intent as intents
from awsbroker.engines.aws import static_rotation
from awsbroker.engines.aws.records import static_creds
from awsbroker.engines.aws.schedule import rfc3339
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotFound
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation

U, R, D, L = Operation.UPDATE, Operation.READ, Operation.DELETE, Operation.LIST
JOB = static_rotation.job_name("s")


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    w.new_user("app")
    yield w
    w.close()


def create(world: World, name: str = "s", **fields: JSONValue) -> JSONObject:
    data: dict[str, JSONValue] = {"username": "app", "rotation_period": "1h"}
    data.update(fields)
    return world.ok(U, f"static-roles/{name}", **data)


def creds(world: World, name: str = "s") -> JSONObject:
    return world.ok(R, f"static-creds/{name}")


def works(world: World, data: JSONObject, prefix: str = "") -> bool:
    return world.key_works(str(data[prefix + "access_key"]), str(data[prefix + "secret_key"]))


# --- create, read, list, delete (rules 45, 46, 49) -----------------------------------------


def test_create_makes_one_key_and_schedules_its_rotation(world: World) -> None:
    start = world.clock.now()
    role = create(world)
    user_id = world.iam().get_user(UserName="app")["User"]["UserId"]
    assert role == {
        "name": "s",
        "id": user_id,
        "username": "app",
        "rotation_period": 3600,
        "assume_role_arn": "",
        "assume_role_session_name": "",
        "external_id": "",
        "grace_period": 0,
    }
    assert world.ok(R, "static-roles/s") == role  # rule 46
    data = creds(world)
    assert set(data) == {"access_key", "secret_key", "expiration"}
    assert data["expiration"] == rfc3339(start + 3600)
    assert world.key_ids("app") == [data["access_key"]]
    assert works(world, data)
    assert world.system.jobs == {JOB: start + 3600}
    checks = ["GetUser", "ListAccessKeys"]
    assert world.actions() == [*checks, *checks, "CreateAccessKey"]
    response = world.call(R, "static-creds/s")
    assert response is not None
    assert response.secret is None  # no lease
    assert world.ok(L, "static-roles") == {"keys": ["s"]}


def test_missing_things_are_404(world: World) -> None:
    assert world.call(R, "static-roles/none") is None
    assert world.call(R, "static-creds/none") is None
    assert world.ok(L, "static-roles") == {"keys": []}
    assert world.call(D, "static-roles/none") is None  # deleting a missing role is fine
    with pytest.raises(NotFound):
        world.call(R, "static-roles/-bad")


def test_delete_removes_the_key_and_keeps_the_user(world: World) -> None:  # rule 49
    create(world)
    key = creds(world)
    world.call(D, "static-roles/s")
    assert world.key_ids("app") == []
    assert not works(world, key)
    assert world.call(R, "static-creds/s") is None
    assert world.call(R, "static-roles/s") is None
    assert world.system.jobs == {}
    world.iam().get_user(UserName="app")  # the user is still there


def test_failed_delete_keeps_the_role(world: World) -> None:
    create(world)
    world.proxy.inject("DeleteAccessKey", 403, "AccessDenied", "no")
    with pytest.raises(InternalError) as info:
        world.call(D, "static-roles/s")
    assert info.value.messages[0].startswith(
        'failed to clean credentials while deleting role "s": couldn\'t delete from IAM: '
    )
    assert creds(world)["access_key"]
    assert world.system.jobs


# --- bad input: clear 4xx, nothing changed in AWS (rules 43, 44) ---------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rotation_period": None}, 'missing "rotation_period" parameter'),
        ({"username": None}, 'missing "username" parameter'),
        (
            {"rotation_period": "30s"},
            "role rotation period out of range: must be greater than 60.00 seconds",
        ),
        (
            {"grace_period": "1h"},
            "grace_period must be at least 0 and less than rotation_period",
        ),
        ({"external_id": "x"}, "external_id requires assume_role_arn"),
        # Found by the OpenAPI fuzzer: any text went to STS as a RoleArn.
        (
            {"assume_role_arn": "arn:aws:iam::123456789012:role/\u00e9\n"},
            "invalid assume_role_arn 'arn:aws:iam::123456789012:role/\u00e9\\n': expected the "
            "ARN of an IAM role, arn:aws:iam::<account>:role/<name>",
        ),
        (
            {"assume_role_arn": "arn:aws:iam::123456789012:user/x"},
            "invalid assume_role_arn 'arn:aws:iam::123456789012:user/x': expected the ARN of an "
            "IAM role, arn:aws:iam::<account>:role/<name>",
        ),
    ],
)
def test_bad_input_is_refused_before_aws(
    world: World, fields: dict[str, JSONValue], message: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        create(world, **fields)
    assert info.value.messages == [message]
    assert world.actions() == []
    assert world.call(R, "static-roles/s") is None


def test_unknown_user(world: World) -> None:  # rule 44
    with pytest.raises(InvalidRequest) as info:
        create(world, username="nobody")
    assert info.value.messages[0].startswith('unable to validate username "nobody": NoSuchEntity')
    assert world.mutating() == []
    assert world.call(R, "static-roles/s") is None


def test_a_user_with_two_foreign_keys_is_refused(world: World) -> None:
    keys = sorted(k for k, _ in world.new_user("full", keys=2))
    with pytest.raises(InvalidRequest) as info:
        create(world, username="full")
    (message,) = info.value.messages
    assert message.startswith('IAM user "full" already has 2 access keys (AKIA')
    assert message.endswith(
        "), the most AWS allows, and none is this role's: delete one of them first"
    )
    assert all(key in message for key in keys)
    assert world.mutating() == []
    assert world.key_ids("full") == keys
    assert world.call(R, "static-roles/s") is None


# --- rotation: replace, not accumulate (rules 47, 48) --------------------------------------


def test_rotation_replaces_the_key(world: World) -> None:
    create(world)
    first = creds(world)
    world.clock.advance(3599)
    world.run_jobs()
    assert creds(world) == first
    world.clock.advance(1)
    assert world.run_jobs() == [JOB]
    second = creds(world)
    assert second["access_key"] != first["access_key"]
    assert world.key_ids("app") == [second["access_key"]]  # one key, not two
    assert works(world, second)
    assert not works(world, first)  # the previous key stops working at once
    assert second["expiration"] == rfc3339(world.clock.now() + 3600)
    world.clock.advance(3600)
    world.run_jobs()
    assert world.key_ids("app") == [creds(world)["access_key"]]
    assert len(world.proxy.calls("CreateAccessKey")) == 3


def test_a_changed_period_reschedules_without_a_new_key(world: World) -> None:  # rule 47
    start = world.clock.now()
    create(world)
    first = creds(world)
    world.clock.advance(600)
    world.proxy.clear()
    create(world, rotation_period="2h")
    assert world.mutating() == []
    assert creds(world)["access_key"] == first["access_key"]
    assert creds(world)["expiration"] == rfc3339(start + 600 + 7200)
    assert world.system.jobs == {JOB: start + 600 + 7200}
    world.clock.advance(3000)  # past the old time: nothing
    world.run_jobs()
    assert creds(world)["access_key"] == first["access_key"]
    world.clock.advance(7200 - 3000)
    world.run_jobs()
    assert creds(world)["access_key"] != first["access_key"]


def test_an_update_that_keeps_the_period_keeps_the_schedule(world: World) -> None:
    start = world.clock.now()
    create(world)
    world.clock.advance(600)
    create(world, grace_period="5m")
    assert world.system.jobs == {JOB: start + 3600}


def test_the_schedule_survives_a_restart(world: World) -> None:
    create(world)
    first = creds(world)
    world.restart()
    world.clock.advance(3600)
    assert world.run_jobs() == [JOB]
    assert creds(world)["access_key"] != first["access_key"]


def test_a_stale_run_does_not_rotate_twice(world: World) -> None:
    create(world)
    world.clock.advance(3600)
    world.run_jobs()
    assert world.backend.run_job(JOB) == world.clock.now() + 3600  # another node's late run
    assert len(world.proxy.calls("CreateAccessKey")) == 2


def test_a_failed_rotation_is_retried_and_keeps_the_old_key(world: World) -> None:
    create(world)
    first = creds(world)
    world.clock.advance(3600)
    world.proxy.inject("CreateAccessKey", 500, "ServiceFailure", "down", times=1)
    world.run_jobs()
    assert creds(world) == first
    assert works(world, first)
    assert world.system.jobs == {JOB: world.clock.now() + 10}
    world.clock.advance(10)
    world.run_jobs()
    assert creds(world)["access_key"] != first["access_key"]
    assert world.key_ids("app") == [creds(world)["access_key"]]


def test_one_foreign_key_means_rotations_without_overlap(world: World) -> None:
    ((foreign, _),) = world.new_user("shared", keys=1)
    create(world, username="shared")
    first = creds(world)
    assert world.key_ids("shared") == sorted([foreign, str(first["access_key"])])
    world.clock.advance(3600)
    world.run_jobs()
    second = creds(world)
    assert world.key_ids("shared") == sorted([foreign, str(second["access_key"])])  # foreign kept


# --- grace period --------------------------------------------------------------------------


def test_grace_period_keeps_the_previous_key_then_deletes_it(world: World) -> None:
    create(world, grace_period="10m")
    first = creds(world)
    world.clock.advance(3600)
    world.run_jobs()
    during = creds(world)
    assert during["previous_access_key"] == first["access_key"]
    assert during["previous_secret_key"] == first["secret_key"]
    assert during["previous_expiration"] == rfc3339(world.clock.now() + 600)
    assert works(world, during)
    assert works(world, during, "previous_")
    assert world.system.jobs == {JOB: world.clock.now() + 600}
    world.clock.advance(599)
    world.run_jobs()
    assert works(world, first)
    world.clock.advance(1)
    world.run_jobs()
    after = creds(world)
    assert "previous_access_key" not in after
    assert not works(world, first)
    assert world.key_ids("app") == [after["access_key"]]
    assert world.system.jobs == {JOB: world.clock.now() - 600 + 3600}


def test_grace_is_cut_short_when_the_user_is_full(world: World) -> None:
    create(world, grace_period="50m")
    world.clock.advance(3600)
    world.run_jobs()
    # Someone shortens the period below the grace: the next rotation needs the slot.
    create(world, rotation_period="61s", grace_period="1m")
    world.clock.advance(61)
    world.run_jobs()
    data = creds(world)
    assert len(world.key_ids("app")) == 2
    assert sorted([data["access_key"], data["previous_access_key"]]) == world.key_ids("app")


# --- cross-account (Vault CE answers 500) --------------------------------------------------


def test_cross_account_role(moto: MotoServer, world: World) -> None:
    moto.disable_auth()
    arn = allow_all_role_in("111111111111", moto, world.checker_key)
    moto.enable_auth()
    world.proxy.clear()
    role = create(world, username="far-away", assume_role_arn=arn, external_id="ext-1")
    assert role["assume_role_arn"] == arn
    assert role["id"]
    data = creds(world)
    assert works(world, data)
    (assume, *_) = world.proxy.calls("AssumeRole")
    assert assume.param("RoleArn") == arn
    assert assume.param("ExternalId") == "ext-1"
    assert assume.param("RoleSessionName") == "awsbroker-static-s"
    (make,) = world.proxy.calls("CreateAccessKey")
    assert "Credential=ASIA" in make.headers["authorization"]  # signed as the assumed role
    world.clock.advance(3600)
    world.run_jobs()
    assert not works(world, data)
    assert works(world, creds(world))
    world.call(D, "static-roles/s")
    assert not works(world, creds_or_empty(world) or data)


def creds_or_empty(world: World) -> JSONObject | None:
    response = world.call(R, "static-creds/s")
    return None if response is None else response.data


# --- crashes at every step -----------------------------------------------------------------

STEPS = ["begun", "creating", "created", "stored", "deleted"]


def crash_rotation_at(world: World, step: str) -> None:
    def hook(at: str) -> None:
        if at == step:
            raise Crash(step)

    world.backend.after_step = hook
    with pytest.raises(Crash):
        world.run_jobs()
    world.backend.after_step = lambda at: None


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_of_a_rotation_recovers(world: World, step: str) -> None:
    create(world)
    first = creds(world)
    world.clock.advance(3600)
    crash_rotation_at(world, step)
    world.restart()
    world.backend.periodic()  # recovery at the first periodic run
    assert intents.pending_static(world.backend) == []
    data = creds(world)
    assert world.key_ids("app") == [data["access_key"]]  # one key, the stored one
    assert works(world, data)
    # The job (its claim ran out) runs again and, if the crash came before the new key was
    # stored, rotates now.
    world.run_jobs()
    final = creds(world)
    assert world.key_ids("app") == [final["access_key"]]
    assert final["access_key"] != first["access_key"]
    assert not works(world, first)


@pytest.mark.parametrize("step", STEPS[:3])
def test_crash_while_creating_the_first_key(world: World, step: str) -> None:
    def hook(at: str) -> None:
        if at == step:
            raise Crash(step)

    world.backend.after_step = hook
    with pytest.raises(Crash):
        create(world)
    world.restart()
    assert world.call(R, "static-creds/s") is None
    world.clock.advance(static_rotation.RETRY_SOON)
    world.run_jobs()  # the safety-net job recovers the intent and makes the key
    data = creds(world)
    assert world.key_ids("app") == [data["access_key"]]
    assert works(world, data)


def test_credentials_record_round_trip() -> None:
    record = static_creds.StaticCreds("AK", "SK", 1_700_000_000.0)
    again = static_creds.StaticCreds.from_record(record.to_record())
    assert again == record
    vault = static_creds.StaticCreds.from_record(
        b'{"access_key":"A","secret_key":"S","expiration":"2024-01-01T00:00:00.5Z"}'
    )
    assert vault.expiration == 1_704_067_200.5
    openbao = static_creds.StaticCreds.from_record(b'{"access_key":"A","secret_key":"S"}')
    assert openbao.expiration == 0.0
