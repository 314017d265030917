"""Two processes (two `AWSBackend`s, one storage): what one answered, the other's next request
sees. Storage is the truth; a client, a config or a record held in memory is only a view of it.
Moto with auth on behind the recording proxy, so the proxy shows which key signed each call
(SigV4's `Credential=<access key>/<date>/<region>/<service>/aws4_request`).

Races are forced, not hoped for: a step of one process runs at a chosen point of the other,
from the rotation's `after_step` hook or from a storage that runs it just before a write."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.aws_rotation import ALLOW_ALL, REGION, ROOT_USER, Crash, World, fresh_world
from tests.support.moto_server import MotoServer
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws import root_rotation, root_schedule
from awsbroker.engines.aws import rotation_intent as intents
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.records import static_creds as creds_record
from awsbroker.engines.aws.records.root_config import RootConfig
from awsbroker.engines.aws.records.static_creds import StaticCreds
from awsbroker.engines.aws.schedule import rfc3339
from awsbroker.sdk.errors import InternalError, InvalidRequest
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request
from awsbroker.sdk.storage import Storage

U, R, D = Operation.UPDATE, Operation.READ, Operation.DELETE
OTHER_REGION = "eu-west-1"


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    w.ok(U, "roles/user", credential_type="iam_user")
    w.ok(U, "roles/session", credential_type="session_token")
    yield w
    w.close()


class BeforeWrite:
    """One process's handle on the shared storage that runs `action` once, just before the
    process's first write of `key` (a put, a delete or a compare-and-set): after it read the
    record, before it writes its own version."""

    def __init__(self, inner: Storage, key: str, action: Callable[[], object]) -> None:
        self._inner, self._key, self._action = inner, key, action
        self.ran = False

    def _before(self, key: str) -> None:
        if key == self._key and not self.ran:
            self.ran = True
            self._action()

    def get(self, key: str) -> bytes | None:
        return self._inner.get(key)

    def list(self, prefix: str) -> list[str]:
        return self._inner.list(prefix)

    def put(self, key: str, value: bytes) -> None:
        self._before(key)
        self._inner.put(key, value)

    def delete(self, key: str) -> None:
        self._before(key)
        self._inner.delete(key)

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        self._before(key)
        return self._inner.compare_and_set(key, expected, value)


def second_process(
    world: World, storage: Storage | None = None, *, sees_first_alive: bool = True
) -> AWSBackend:
    """Another process on the world's storage (seen through `storage` if given). The first
    sees it alive; it sees the first alive unless told otherwise."""
    system = FakeSystemView(world.clock, boot_id="boot-b")
    if sees_first_alive:
        system.alive.add(world.system.boot_id)
    world.system.alive.add(system.boot_id)
    shared = storage or world.storage
    backend = AWSBackend(BackendConfig(storage=shared, system=system, mount_path="aws/"))
    backend.sleep = world.clock.advance
    return backend


def ok(backend: AWSBackend, op: Operation, path: str, /, **data: JSONValue) -> JSONObject:
    request = Request(operation=op, path=path, data=dict(data), display_name="root")
    response = backend.handle_request(request)
    return {} if response is None or response.data is None else response.data


def scope(call: Call) -> tuple[str, str]:
    """(access key, region) a call was signed with."""
    credential = call.headers["authorization"].partition("Credential=")[2].partition(",")[0]
    key, _date, region, _service, _ = credential.split("/")
    return key, region


def issue_both(backend: AWSBackend) -> None:
    """An IAM user credential and an STS one: both of the mount's clients are used."""
    ok(backend, R, "creds/user")
    ok(backend, R, "sts/session")


# --- the mount's clients follow config/root as stored ----------------------------------------


def test_a_key_rotated_on_one_process_signs_the_next_call_of_the_other(world: World) -> None:
    b = second_process(world)
    issue_both(b)  # b's clients are built, with the first key
    new = str(world.ok(U, "config/rotate-root")["access_key"])
    assert not world.key_works(*world.root_key)  # the old key is gone from AWS
    world.proxy.clear()
    issue_both(b)
    calls = world.proxy.calls()
    assert {c.action for c in calls} >= {"CreateUser", "CreateAccessKey", "GetSessionToken"}
    assert {scope(c) for c in calls} == {(new, REGION)}


def test_a_config_written_on_one_process_is_used_by_the_next_call_of_the_other(
    world: World, moto: MotoServer
) -> None:
    b = second_process(world)
    issue_both(b)
    with AWSProxy(moto.endpoint) as elsewhere:
        world.ok(
            U,
            "config/root",
            region=OTHER_REGION,
            iam_endpoint=elsewhere.endpoint,
            sts_endpoint=elsewhere.endpoint,
        )
        world.proxy.clear()
        issue_both(b)
        assert world.proxy.calls() == []  # nothing went to the old endpoint
        calls = elsewhere.calls()
    assert {c.action for c in calls} >= {"CreateUser", "GetSessionToken"}
    assert {scope(c) for c in calls} == {(world.root_key[0], OTHER_REGION)}


def test_the_sts_fallback_probe_runs_once_per_config(world: World) -> None:
    fallback: dict[str, JSONValue] = {
        "sts_fallback_endpoints": [world.proxy.endpoint],
        "sts_fallback_regions": [OTHER_REGION],
    }
    world.ok(U, "config/root", **fallback)
    world.proxy.clear()

    def probes() -> int:
        return len(world.proxy.calls("GetCallerIdentity"))

    for _ in range(3):
        world.ok(R, "sts/session")
    assert probes() == 1  # the first candidate answered, once; then the client is reused
    b = second_process(world)
    ok(b, U, "config/root", max_retries=1, **fallback)  # another process changes the config
    world.ok(R, "sts/session")
    world.ok(R, "sts/session")
    assert probes() == 2  # probed again for the new config, and only once


# --- config/root writes and root rotations on different processes lose nothing -------------


def stored_config(world: World) -> RootConfig:
    config = root_config.load(world.backend)
    assert config is not None
    return config


def rotate(backend: AWSBackend) -> str:
    return str(ok(backend, U, "config/rotate-root")["access_key"])


def at_step(step: str, action: Callable[[], object]) -> Callable[[str], None]:
    """An `after_step` hook that runs `action` once the rotation has done `step`."""

    def hook(done: str) -> None:
        if done == step:
            action()

    return hook


def operator_key(world: World) -> tuple[str, str]:
    """A key of another admin, `operator`, as an operator would write into config/root."""
    iam = world.iam()
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_a_config_write_during_a_rotation_keeps_both(world: World) -> None:
    b = second_process(world)
    world.backend.after_step = at_step(
        "created", lambda: ok(b, U, "config/root", region=OTHER_REGION)
    )
    new = rotate(world.backend)
    config = stored_config(world)
    assert (config.access_key, config.region) == (new, OTHER_REGION)
    assert world.key_ids() == [new]


def test_a_rotation_during_a_config_write_keeps_both(world: World) -> None:
    rotation = BeforeWrite(world.storage, root_config.STORAGE_KEY, lambda: rotate(world.backend))
    b = second_process(world, rotation)
    ok(b, U, "config/root", region=OTHER_REGION)  # b read config/root before the rotation
    assert rotation.ran
    config = stored_config(world)
    assert config.region == OTHER_REGION
    assert config.access_key != world.root_key[0]
    assert world.key_ids() == [config.access_key]  # the rotation's key, which works
    world.proxy.clear()
    issue_both(b)
    assert {scope(c)[0] for c in world.proxy.calls()} == {config.access_key}


def test_a_key_written_during_a_rotation_wins_and_the_rotation_is_undone(world: World) -> None:
    operator = operator_key(world)
    b = second_process(world)

    def write() -> None:
        ok(b, U, "config/root", access_key=operator[0], secret_key=operator[1])

    world.backend.after_step = at_step("created", write)
    with pytest.raises(InvalidRequest) as info:
        rotate(world.backend)
    assert info.value.messages == [root_rotation.KEY_REPLACED]
    assert stored_config(world).access_key == operator[0]
    assert world.key_ids(ROOT_USER) == [world.root_key[0]]  # the rotation's key is deleted
    assert intents.load(world.backend, intents.ROOT) is None
    world.proxy.clear()
    issue_both(world.backend)
    assert {scope(c)[0] for c in world.proxy.calls()} == {operator[0]}


def test_a_rotation_time_and_a_schedule_written_meanwhile_are_both_kept(world: World) -> None:
    rotation = BeforeWrite(world.storage, root_schedule.STATE_KEY, lambda: rotate(world.backend))
    b = second_process(world, rotation)
    # b computes the new schedule; a rotates (and records when) before b stores it.
    ok(b, U, "config/root", rotation_period="1h")
    assert rotation.ran
    data = world.ok(R, "config/root")
    now = world.clock.now()
    assert data["last_vault_rotation"] == rfc3339(now)
    assert data["next_vault_rotation"] == rfc3339(now + 3600)
    assert world.system.jobs == {root_schedule.JOB: now + 3600}


# --- dynamic roles ---------------------------------------------------------------------------

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_role_writes_on_two_processes_keep_both_fields(world: World) -> None:
    groups = BeforeWrite(
        world.storage, "role/user", lambda: world.ok(U, "roles/user", iam_groups=["g"])
    )
    b = second_process(world, groups)
    ok(b, U, "roles/user", policy_arns=[READ_ONLY])  # b read the role before a's write
    assert groups.ran
    role = world.ok(R, "roles/user")
    assert (role["iam_groups"], role["policy_arns"]) == (["g"], [READ_ONLY])


def test_a_legacy_role_deleted_during_its_upgrade_stays_deleted(world: World) -> None:
    world.storage.put("policy/old", READ_ONLY.encode())  # as Vault before 0.11 stored roles
    deleted = BeforeWrite(
        world.storage, "role/old", lambda: world.ok(Operation.DELETE, "roles/old")
    )
    b = second_process(world, deleted)
    # b reads the legacy entry to upgrade it; a deletes the role before b stores the upgrade.
    assert b.handle_request(Request(operation=R, path="roles/old")) is None
    assert deleted.ran
    assert world.call(R, "roles/old") is None
    assert (world.storage.get("role/old"), world.storage.get("policy/old")) == (None, None)


# --- the rotation intent: one rotation of a key at a time, across processes -----------------


def test_of_two_processes_starting_a_rotation_at_once_one_rotates(world: World) -> None:
    def a_starts_and_is_still_running() -> None:
        # a begins its rotation and is stopped (still alive) once it has made its new key.
        world.backend.after_step = at_step("created", lambda: _raise(Crash("paused")))
        with pytest.raises(Crash):
            rotate(world.backend)

    # b found no intent, and a begins before b writes its own.
    b = second_process(
        world, BeforeWrite(world.storage, intents.ROOT, a_starts_and_is_still_running)
    )
    with pytest.raises(InvalidRequest) as info:
        rotate(b)
    assert info.value.messages == ["a rotation of the root credentials is already in progress"]
    a_intent = intents.load(world.backend, intents.ROOT)
    assert a_intent is not None
    assert a_intent.boot == world.system.boot_id  # a's intent stands: its new key is tracked
    assert sorted(world.key_ids()) == sorted([world.root_key[0], a_intent.new_access_key])
    assert isinstance(b.system, FakeSystemView)
    b.system.alive.discard(world.system.boot_id)  # a dies; b recovers a's rotation
    b.periodic()
    assert world.key_ids() == [world.root_key[0]] == [stored_config(world).access_key]


def test_a_rotation_whose_intent_another_process_recovered_stops(world: World) -> None:
    b = second_process(world, sees_first_alive=False)  # b takes a for dead
    world.backend.after_step = at_step("begun", b.periodic)  # ... and recovers a's intent
    with pytest.raises(InternalError) as info:
        rotate(world.backend)
    assert info.value.messages == [
        "the rotation was stopped: another process recovered it as abandoned"
    ]
    assert intents.load(world.backend, intents.ROOT) is None  # not brought back
    assert world.key_ids() == [world.root_key[0]] == [stored_config(world).access_key]
    assert "CreateAccessKey" not in world.actions()


def _raise(exc: BaseException) -> None:
    raise exc


# --- static roles: role writes, deletes and rotations on different processes ----------------


@pytest.fixture
def static(world: World) -> World:
    """The world with static role `s` (user `app`, rotated hourly) made on the first process."""
    world.new_user("app")
    ok(world.backend, U, "static-roles/s", username="app", rotation_period="1h")
    return world


def static_creds(world: World) -> StaticCreds:
    creds = creds_record.load(world.backend, "s")
    assert creds is not None
    return creds


def run_static_job(world: World) -> None:
    """The first process's job of role `s`, which must be due."""
    assert world.run_jobs() == ["static/s"]
    assert world.system.errors == {}


def test_a_period_written_during_a_static_rotation_holds(static: World) -> None:
    b = second_process(static)
    static.backend.after_step = at_step(
        "created", lambda: ok(b, U, "static-roles/s", rotation_period="2h")
    )
    static.clock.advance(3600)
    run_static_job(static)
    creds = static_creds(static)
    assert static.key_ids("app") == [creds.access_key]
    assert creds.expiration == static.clock.now() + 7200  # b's period, not the one a read


def test_a_static_rotation_during_a_period_write_keeps_the_new_key(static: World) -> None:
    first = static_creds(static)
    static.clock.advance(3600)
    rotation = BeforeWrite(static.storage, "static-creds/s", lambda: run_static_job(static))
    b = second_process(static, rotation)
    # b reads the credentials to move their next rotation; a rotates before b writes.
    ok(b, U, "static-roles/s", rotation_period="2h")
    assert rotation.ran
    creds = static_creds(static)
    assert creds.access_key != first.access_key
    assert static.key_ids("app") == [creds.access_key]
    assert static.key_works(creds.access_key, creds.secret_key)
    assert creds.expiration == static.clock.now() + 7200


def test_role_writes_on_two_processes_keep_both(static: World) -> None:
    grace = BeforeWrite(
        static.storage,
        "static-roles/s",
        lambda: ok(static.backend, U, "static-roles/s", grace_period="10m"),
    )
    b = second_process(static, grace)
    ok(b, U, "static-roles/s", rotation_period="2h")  # b read the role before a's write
    role = ok(static.backend, R, "static-roles/s")
    assert (role["rotation_period"], role["grace_period"]) == (7200, 600)


def test_a_role_is_not_deleted_while_another_process_rotates_its_key(static: World) -> None:
    b = second_process(static)
    refused: list[list[str]] = []

    def delete_on_b() -> None:
        try:
            ok(b, D, "static-roles/s")
        except InvalidRequest as exc:
            refused.append(exc.messages)

    static.backend.after_step = at_step("created", delete_on_b)
    static.clock.advance(3600)
    run_static_job(static)
    assert refused == [['a rotation of role "s" is already in progress']]
    creds = static_creds(static)
    assert static.key_ids("app") == [creds.access_key]
    ok(b, D, "static-roles/s")  # the rotation is over: now it goes
    assert static.key_ids("app") == []
    assert creds_record.load(static.backend, "s") is None


def test_a_static_rotation_brings_back_no_record_deleted_meanwhile(static: World) -> None:
    first = static_creds(static)

    def records_deleted() -> None:  # by whatever did it: an older process, an operator
        static.storage.delete("static-creds/s")
        static.storage.delete("static-roles/s")

    static.backend.after_step = at_step("created", records_deleted)
    static.clock.advance(3600)
    static.run_jobs()
    assert static.system.errors["static/s"].args[0] == (
        'static role "s" was deleted while its key was being rotated; the new key this '
        "rotation made is deleted"
    )
    assert creds_record.load(static.backend, "s") is None
    assert static.key_ids("app") == [first.access_key]  # the rotation's key is gone
