"""`config/rotate-root`: verified (the new key proves itself before it is stored), crash-safe
(a crash at every step ends, after the next start, with one working key and no stray one), the
two-key limit, and rules 41-42. Moto with auth on, so a deleted key really stops working."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.aws_rotation import ROOT_USER, Crash, World, fresh_world
from tests.support.moto_server import MotoServer

from awsbroker.engines.aws import root_rotation
from awsbroker.engines.aws import rotation_intent as intents
from awsbroker.engines.aws.records.root_config import STORAGE_KEY
from awsbroker.sdk.errors import InternalError, InvalidRequest, UnsupportedOperation
from awsbroker.sdk.logical import Operation
from awsbroker.sdk.telemetry import ROTATION_LAST_SUCCESS

U, R = Operation.UPDATE, Operation.READ


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    yield w
    w.close()


def rotate(world: World) -> str:
    return str(world.ok(U, "config/rotate-root")["access_key"])


# --- rules 41, 42, 51 ----------------------------------------------------------------------


def test_rule_41_without_config_or_keys(moto: MotoServer, proxy: AWSProxy, world: World) -> None:
    world.storage.delete(STORAGE_KEY)
    with pytest.raises(InternalError) as info:
        rotate(world)
    assert info.value.messages == ["no configuration found for config/root"]
    world.ok(U, "config/root", region="us-east-1")
    with pytest.raises(InvalidRequest) as bad:
        rotate(world)
    assert bad.value.messages == [root_rotation.EMPTY_KEYS]
    assert world.actions() == []


def test_rule_42_rotation_replaces_the_key(world: World) -> None:
    old = world.root_key
    new = rotate(world)
    assert world.actions() == [
        "GetUser",
        "ListAccessKeys",
        "CreateAccessKey",
        "GetCallerIdentity",
        "DeleteAccessKey",
    ]
    assert new != old[0]
    assert world.config_key() == new
    assert world.key_ids() == [new]
    assert not world.key_works(*old)  # the old key is rejected by AWS
    (create,) = world.proxy.calls("CreateAccessKey")
    assert create.param("UserName") == ROOT_USER
    assert f"Credential={old[0]}/" in create.headers["authorization"]
    (check,) = world.proxy.calls("GetCallerIdentity")
    assert f"Credential={new}/" in check.headers["authorization"]  # verified with the new key
    (delete,) = world.proxy.calls("DeleteAccessKey")
    assert delete.param("AccessKeyId") == old[0]
    assert intents.load(world.backend, intents.ROOT) is None
    # The engine keeps working with the new key, and may rotate again.
    world.proxy.clear()
    world.ok(U, "roles/r", credential_type="iam_user")
    issued = world.ok(R, "creds/r")
    assert f"Credential={new}/" in world.proxy.calls("CreateUser")[0].headers["authorization"]
    assert world.key_works(str(issued["access_key"]), str(issued["secret_key"]))
    newer = rotate(world)
    assert world.key_ids() == [newer]


def test_read_shows_the_rotation_times(world: World) -> None:
    data = world.ok(R, "config/root")
    assert (data["last_vault_rotation"], data["next_vault_rotation"]) == (None, None)
    rotate(world)
    data = world.ok(R, "config/root")
    assert data["last_vault_rotation"] == "2023-11-14T22:13:20Z"  # the ManualClock's start
    assert data["next_vault_rotation"] is None


def test_get_is_405(world: World) -> None:
    with pytest.raises(UnsupportedOperation):
        world.call(R, "config/rotate-root")


# --- the two-key limit ---------------------------------------------------------------------


def test_a_foreign_second_key_is_refused_and_nothing_changes(world: World) -> None:
    foreign = world.iam().create_access_key(UserName=ROOT_USER)["AccessKey"]["AccessKeyId"]
    with pytest.raises(InvalidRequest) as info:
        rotate(world)
    assert info.value.messages == [
        f'IAM user "{ROOT_USER}" already has 2 access keys, the most AWS allows, and only one '
        f"is the broker's; delete the other ({foreign}) and rotate again"
    ]
    assert world.mutating() == []
    assert world.config_key() == world.root_key[0]
    assert intents.load(world.backend, intents.ROOT) is None


def test_an_extra_key_of_our_own_unfinished_rotation_is_dealt_with(world: World) -> None:
    crash_at(world, "created")
    stray = intent(world).new_access_key
    assert len(world.key_ids()) == 2  # at the limit, but the second key is ours
    world.restart()
    new = rotate(world)  # the leftover is undone, then the rotation runs
    assert stray not in world.key_ids()
    assert world.key_ids() == [new] == [world.config_key()]


def test_a_rotation_in_progress_elsewhere_is_not_disturbed(world: World) -> None:
    crash_at(world, "created")
    world.start()
    world.system.alive.add("boot-1")  # the first process still runs: its rotation may too
    with pytest.raises(InvalidRequest) as info:
        rotate(world)
    assert info.value.messages == ["a rotation of the root credentials is already in progress"]
    world.clock.advance(intents.MAX_AGE)  # ... not for that long
    new = rotate(world)
    assert world.key_ids() == [new]


# --- verification --------------------------------------------------------------------------


def test_the_new_key_is_retried_through_propagation(world: World) -> None:
    world.proxy.inject("GetCallerIdentity", 403, "InvalidClientTokenId", "not yet", times=3)
    start = world.clock.now()
    new = rotate(world)
    assert len(world.proxy.calls("GetCallerIdentity")) == 4
    assert world.clock.now() - start == pytest.approx(0.5 + 1 + 2)  # slept with backoff
    assert world.key_ids() == [new]


def test_a_key_aws_never_accepts_is_undone(world: World) -> None:
    world.proxy.inject("GetCallerIdentity", 403, "InvalidClientTokenId", "never")
    with pytest.raises(InternalError) as info:
        rotate(world)
    assert info.value.messages[0].startswith(
        "the new access key was not accepted by AWS within 60s: "
    )
    assert world.clock.now() - 1_700_000_000.0 == pytest.approx(60)
    assert world.key_ids() == [world.root_key[0]] == [world.config_key()]
    assert world.key_works(*world.root_key)
    assert intents.load(world.backend, intents.ROOT) is None


def test_failed_create_leaves_everything_as_it_was(world: World) -> None:
    world.proxy.inject("CreateAccessKey", 409, "LimitExceeded", "Cannot exceed quota")
    with pytest.raises(InternalError) as info:
        rotate(world)
    assert info.value.messages[0].startswith("error calling CreateAccessKey: ")
    assert world.key_ids() == [world.root_key[0]] == [world.config_key()]
    assert intents.load(world.backend, intents.ROOT) is None


def test_failed_delete_of_the_old_key_is_finished_by_recovery(world: World) -> None:
    world.proxy.inject("DeleteAccessKey", 500, "ServiceFailure", "try later", times=1)
    with pytest.raises(InternalError) as info:
        rotate(world)
    assert info.value.messages[0].startswith("error deleting old access key: ")
    new = world.config_key()
    assert new != world.root_key[0]
    assert len(world.key_ids()) == 2
    world.backend.periodic()  # the periodic recovery finishes it
    assert world.key_ids() == [new]
    assert intents.load(world.backend, intents.ROOT) is None


# --- crashes at every step -----------------------------------------------------------------

# Where the process dies, and which key config/root holds after recovery ("old" or "new").
CRASHES = [
    ("begun", "old"),
    ("creating", "old"),
    ("between-create-and-record", "old"),
    ("created", "old"),
    ("stored", "new"),
    ("deleted", "new"),
]


def crash_at(world: World, step: str) -> None:
    def hook(at: str) -> None:
        if at == step:
            raise Crash(step)

    world.backend.after_step = hook
    if step == "between-create-and-record":
        # CreateAccessKey answered, but the intent recording the key never reached storage.
        world.backend.storage = CrashOnPut(world.storage, '"step": "created"')  # type: ignore[assignment]
    with pytest.raises(Crash):
        rotate(world)
    world.backend.storage = world.storage


class CrashOnPut:
    def __init__(self, inner: object, marker: str) -> None:
        self._inner = inner
        self._marker = marker

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def put(self, key: str, value: bytes) -> None:
        if self._marker in value.decode(errors="replace"):
            raise Crash(key)
        self._inner.put(key, value)  # type: ignore[attr-defined]

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        # The steps of an intent are recorded by compare-and-set (rotation_intent.save).
        if value is not None and self._marker in value.decode(errors="replace"):
            raise Crash(key)
        return bool(self._inner.compare_and_set(key, expected, value))  # type: ignore[attr-defined]


def intent(world: World) -> intents.Intent:
    found = intents.load(world.backend, intents.ROOT)
    assert found is not None
    return found


@pytest.mark.parametrize(("step", "holder"), CRASHES)
def test_crash_at_each_step_recovers_to_one_working_key(
    world: World, step: str, holder: str
) -> None:
    old = world.root_key
    crash_at(world, step)
    left = intent(world)
    new = left.new_access_key
    world.restart()
    assert len(world.key_ids()) <= 2
    world.backend.periodic()  # the first periodic run of the new process
    assert intents.load(world.backend, intents.ROOT) is None
    (remaining,) = world.key_ids()
    assert world.config_key() == remaining
    if holder == "old":
        assert remaining == old[0]
        assert world.key_works(*old)
    else:
        assert remaining == new
        assert world.key_works(left.new_access_key, left.new_secret_key)
        assert not world.key_works(*old)
    # The engine works with whatever key it holds.
    world.proxy.clear()
    world.ok(U, "roles/r", credential_type="iam_user")
    world.ok(R, "creds/r")


def test_recovery_waits_while_the_writer_lives(world: World) -> None:
    crash_at(world, "created")
    world.start()
    world.system.alive.add("boot-1")
    world.backend.periodic()
    assert intents.load(world.backend, intents.ROOT) is not None
    assert len(world.key_ids()) == 2
    world.system.alive.discard("boot-1")
    world.backend.periodic()
    assert intents.load(world.backend, intents.ROOT) is None
    assert world.key_ids() == [world.root_key[0]]


class GaugeRecorder:
    """A telemetry sink that keeps the gauges it is given."""

    def __init__(self) -> None:
        self.gauges: list[tuple[str, float, dict[str, str]]] = []

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        pass

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        pass

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        self.gauges.append((name, value, dict(labels)))


def test_a_rotation_is_reported_to_the_metrics(world: World) -> None:
    recorder = GaugeRecorder()
    world.backend.telemetry = recorder
    rotate(world)
    assert recorder.gauges == [
        (ROTATION_LAST_SUCCESS, world.clock.now(), {"mount": "aws/", "kind": "root"})
    ]
