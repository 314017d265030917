"""Two processes (two `AWSBackend`s, one storage): what one answered, the other's next request
sees. Storage is the truth; a client, a config or a record held in memory is only a view of it.
Moto with auth on behind the recording proxy, so the proxy shows which key signed each call
(SigV4's `Credential=<access key>/<date>/<region>/<service>/aws4_request`).

Races are forced, not hoped for: a step of one process runs at a chosen point of the other,
from the rotation's `after_step` hook or from a storage that runs it just before a write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.aws_rotation import REGION, World, fresh_world
from tests.support.moto_server import MotoServer
from tests.support.system_view import FakeSystemView

from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.sdk.framework import BackendConfig
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request

U, R = Operation.UPDATE, Operation.READ
OTHER_REGION = "eu-west-1"


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    w.ok(U, "roles/user", credential_type="iam_user")
    w.ok(U, "roles/session", credential_type="session_token")
    yield w
    w.close()


def second_process(world: World) -> AWSBackend:
    """Another process on the world's storage; each of the two sees the other alive."""
    system = FakeSystemView(world.clock, boot_id="boot-b")
    system.alive.add(world.system.boot_id)
    world.system.alive.add(system.boot_id)
    backend = AWSBackend(BackendConfig(storage=world.storage, system=system, mount_path="aws/"))
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
