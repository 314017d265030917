"""Issue 19 section 1 in process (moto with auth on, behind the recording proxy, a manual clock):
the deny leaves once the session would have ended anyway, a crash between the steps of a
revocation leaves no orphan entry and no un-revoked lease, drift is rewritten
(docs/session-revocation.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.aws_rotation import Crash, World, fresh_world
from tests.support.moto_server import MotoServer

from awsbroker.engines.aws import session_revocation
from awsbroker.engines.aws.records import session_deny
from awsbroker.sdk.errors import BrokerError
from awsbroker.sdk.logical import Operation, Request, Secret
from awsbroker.sdk.telemetry import SESSION_DENY_REWRITES

U = Operation.UPDATE


@pytest.fixture
def world(moto: MotoServer, proxy: AWSProxy) -> Iterator[World]:
    w = fresh_world(moto, proxy)
    w.clock.advance(time.time() - w.clock.now())  # moto's expiries are in real time
    yield w
    w.close()


def make_role(world: World, name: str = "target") -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = world.iam().create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    arn = str(role["Role"]["Arn"])
    world.ok(U, "roles/r", credential_type="assumed_role", role_arns=[arn], session_revocation=True)
    return str(role["Role"]["RoleId"])


def issue(world: World, lease_id: str) -> Secret:
    """Credentials of `roles/r`, with the lease the core would store for them."""
    request = Request(operation=U, path="sts/r", data={}, display_name="root", lease_id=lease_id)
    response = world.backend.handle_request(request)
    assert response is not None
    assert response.secret is not None
    world.system.leases.add(lease_id)
    return response.secret


def revoke(world: World, secret: Secret, lease_id: str) -> None:
    """What the lease manager does: the backend's revocation, then the lease is deleted."""
    world.backend.revoke_secret(Request(operation=Operation.DELETE, path="sts/r"), secret)
    world.system.leases.discard(lease_id)


def denied(world: World, role: str = "target") -> list[str]:
    iam = world.iam()
    found: list[str] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc: Any = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        found += doc["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
    return sorted(found)


def userid(world: World, role_id: str, secret: Secret) -> str:
    return f"{role_id}:{secret.internal_data['username']}"


def test_the_deny_leaves_when_the_session_would_have_ended(world: World) -> None:
    role_id = make_role(world)
    secret = issue(world, "aws/sts/r/one")
    revoke(world, secret, "aws/sts/r/one")
    assert denied(world) == [userid(world, role_id, secret)]

    world.backend.periodic()  # still within the credentials' life: it stays
    assert denied(world) == [userid(world, role_id, secret)]

    world.clock.advance(3600 + 1)  # the default STS TTL: the session has ended anyway
    world.proxy.clear()
    world.backend.periodic()
    assert denied(world) == []
    assert world.actions().count("DeleteRolePolicy") == 1
    assert session_deny.target_keys(world.backend) == []


def test_a_console_session_longer_than_its_credentials_keeps_the_deny(world: World) -> None:
    """The hook for console sign-in: `console_until` in the lease's block extends the entry."""
    role_id = make_role(world)
    secret = issue(world, "aws/sts/r/console")
    block = secret.internal_data[session_revocation.FIELD]
    assert isinstance(block, dict)
    block["console_until"] = float(str(block["expires_at"])) + 7200
    revoke(world, secret, "aws/sts/r/console")
    world.clock.advance(3600 + 1)
    world.backend.periodic()
    assert denied(world) == [userid(world, role_id, secret)]
    world.clock.advance(7200)
    world.backend.periodic()
    assert denied(world) == []


@pytest.mark.parametrize("step", ["before the deny", "after the deny"])
def test_a_crash_during_a_revocation_leaves_no_orphan_and_no_unrevoked_lease(
    world: World, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    make_role(world)
    secret = issue(world, "aws/sts/r/crash")
    real_write = session_revocation._write

    def crashing(*args: Any) -> None:
        if step == "after the deny":
            real_write(*args)
        raise Crash

    monkeypatch.setattr(session_revocation, "_write", crashing)
    with pytest.raises(Crash):
        revoke(world, secret, "aws/sts/r/crash")
    monkeypatch.setattr(session_revocation, "_write", real_write)
    assert world.system.lease_exists("aws/sts/r/crash")  # the lease was never deleted

    leases = set(world.system.leases)  # the core's stored leases outlive the process
    world.restart()
    world.system.leases |= leases
    world.backend.periodic()
    # Undone: the lease is still live, so its credentials must still work: no deny, no entry.
    assert denied(world) == []
    assert session_deny.target_keys(world.backend) == []

    # The lease manager's retry (a due lease is revoked again after the restart) finishes it.
    revoke(world, secret, "aws/sts/r/crash")
    assert len(denied(world)) == 1


def test_a_revocation_in_flight_on_a_live_process_is_left_alone(world: World) -> None:
    make_role(world)
    secret = issue(world, "aws/sts/r/busy")
    block = secret.internal_data[session_revocation.FIELD]
    assert isinstance(block, dict)
    session_revocation.revoke(world.backend, secret.internal_data)  # the lease not yet deleted
    world.backend.periodic()  # the same process, young: may still be running
    assert len(denied(world)) == 1


class Counts:
    """A telemetry sink that keeps the counters it is given."""

    def __init__(self) -> None:
        self.counted: list[tuple[str, dict[str, str]]] = []

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        self.counted.append((name, dict(labels)))

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        pass

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        pass


@pytest.mark.parametrize("change", ["removed", "changed"])
def test_a_deny_removed_or_changed_by_hand_is_rewritten_counted_and_logged(
    world: World, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    role_id = make_role(world)
    secret = issue(world, "aws/sts/r/drift")
    revoke(world, secret, "aws/sts/r/drift")
    counts = Counts()
    world.backend.telemetry = counts
    world.proxy.clear()
    world.backend.periodic()  # as it should be: read back, not written
    assert "PutRolePolicy" not in world.actions()
    assert counts.counted == []

    name = world.iam().list_role_policies(RoleName="target")["PolicyNames"][0]
    if change == "removed":
        world.iam().delete_role_policy(RoleName="target", PolicyName=name)
    else:
        other = session_revocation.document(["AROAOTHER:someone-else"])
        world.iam().put_role_policy(RoleName="target", PolicyName=name, PolicyDocument=other)

    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()

    assert denied(world) == [userid(world, role_id, secret)]
    assert counts.counted == [(SESSION_DENY_REWRITES, {"mount": "aws/", "kind": "role"})]
    assert f"was {change} on AWS; writing it again" in caplog.text


def test_a_failed_write_leaves_no_entry(world: World) -> None:
    make_role(world)
    secret = issue(world, "aws/sts/r/fail")
    world.proxy.inject("PutRolePolicy", 403, "AccessDenied", "no", times=1)
    with pytest.raises(BrokerError):
        revoke(world, secret, "aws/sts/r/fail")
    assert session_deny.target_keys(world.backend) == []
    assert world.system.lease_exists("aws/sts/r/fail")


def test_a_lease_revoked_at_its_expiry_writes_no_deny(world: World) -> None:
    make_role(world)
    secret = issue(world, "aws/sts/r/lapse")
    world.clock.advance(3600 + 5)  # moto's clock ran a little since the fixture set ours
    world.proxy.clear()
    revoke(world, secret, "aws/sts/r/lapse")
    assert "PutRolePolicy" not in world.actions()
    assert session_deny.target_keys(world.backend) == []
