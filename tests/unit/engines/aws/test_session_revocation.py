"""Issue 19 section 1 in process (moto with auth on, behind the recording proxy, a manual clock):
the deny leaves once the session would have ended anyway, a crash between the steps of a
revocation leaves no orphan entry and no un-revoked lease, drift is rewritten
(docs/session-revocation.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from tests.support.aws_proxy import AWSProxy
from tests.support.aws_rotation import Crash, World, allow_all_role_in, fresh_world
from tests.support.moto_server import MotoServer, moto_client

from awsbroker.engines.aws import deny_policies, session_revocation
from awsbroker.engines.aws.records import session_deny
from awsbroker.engines.aws.records.lease_config import SECRET_ACCESS_KEYS
from awsbroker.sdk.errors import BrokerError, InvalidRequest, UpstreamError
from awsbroker.sdk.logical import Operation, Request, Secret
from awsbroker.sdk.telemetry import SESSION_DENY_REWRITES

U = Operation.UPDATE


# The target role of make_role(), as session_deny names it.
TARGET = session_deny.Target(session_deny.ROLE, "target", account="123456789012")


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


def issue(world: World, lease_id: str, role: str = "r") -> Secret:
    """Credentials of `roles/<role>`, with the lease the core would store for them (its issue
    time and internal data, and what revoking it through the lease manager does)."""
    request = Request(
        operation=U, path=f"sts/{role}", data={}, display_name="root", lease_id=lease_id
    )
    response = world.backend.handle_request(request)
    assert response is not None
    assert response.secret is not None
    world.system.leases.add(lease_id)
    world.system.records[lease_id] = (world.clock.now(), dict(response.secret.internal_data))
    world.system.revoker = lambda _id, internal, issued: world.backend.revoke_secret(
        Request(operation=Operation.DELETE, path=f"sts/{role}"),
        Secret(SECRET_ACCESS_KEYS, 0, 0, False, dict(internal), issued),
    )
    return response.secret


def revoke(world: World, secret: Secret, lease_id: str) -> None:
    """What the lease manager does: the backend's revocation (with the lease's issue time),
    then the lease is deleted."""
    issued = world.system.records.get(lease_id, (0.0, {}))[0]
    handed = dataclasses.replace(secret, issue_time=issued)
    world.backend.revoke_secret(Request(operation=Operation.DELETE, path="sts/r"), handed)
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


class SignIn:
    """AWS's sign-in federation endpoint, as far as console sign-in needs it."""

    def signin_token(
        self, endpoint: str, session: dict[str, str], session_duration: int | None
    ) -> str:
        return "token"


def sign_in(world: World, role: str, ttl: str, lease_id: str) -> tuple[Secret, dict[str, Any]]:
    """A console link for `role`, through the federation stand-in: its lease's secret and the
    session-revocation block kept with it."""
    world.backend.federation = SignIn()
    request = Request(
        operation=U, path=f"console/{role}", data={"ttl": ttl}, display_name="root",
        lease_id=lease_id,
    )  # fmt: skip
    response = world.backend.handle_request(request)
    assert response is not None
    assert response.secret is not None
    block = response.secret.internal_data[session_revocation.FIELD]
    assert isinstance(block, dict)
    return response.secret, block


def test_a_console_sign_in_keeps_the_deny_until_its_console_session_could_end(
    world: World,
) -> None:
    """`console/:role` sets `console_until`: AWS accepts the URL for 15 minutes, and the
    console session lasts its SessionDuration from sign-in, past the credentials' expiry."""
    make_role(world)
    issued = world.clock.now()
    secret, block = sign_in(world, "r", "1h", "aws/console/r/one")
    assert block["console_until"] == issued + 900 + 3600
    revoke(world, secret, "aws/console/r/one")
    assert denied(world) == [block["userid"]]

    world.clock.advance(3600 + 1)  # the credentials have expired; the console may not have
    world.backend.periodic()
    assert denied(world) == [block["userid"]]
    world.clock.advance(900)  # the latest the console session can end
    world.backend.periodic()
    assert denied(world) == []


def test_a_console_lease_that_simply_expires_writes_no_deny(world: World) -> None:
    """A console lease reaching its end (its TTL, the credentials' life) writes nothing, like
    any other lease; one revoked a little earlier than that is denied until its console
    session could end."""
    make_role(world)
    lapse, _ = sign_in(world, "r", "1h", "aws/console/r/lapse")
    early, block = sign_in(world, "r", "1h", "aws/console/r/early")
    assert lapse.ttl <= 3600
    world.clock.advance(lapse.ttl - session_revocation.END_SLACK - 1)
    revoke(world, early, "aws/console/r/early")  # revoked before its end: denied
    assert denied(world) == [block["userid"]]
    [entry] = session_deny.entries(world.backend, session_deny.target_keys(world.backend)[0])
    assert entry.ends_at == block["console_until"]

    world.clock.advance(session_revocation.END_SLACK + 1)  # the lease manager expires it
    world.proxy.clear()
    revoke(world, lapse, "aws/console/r/lapse")
    assert world.actions() == []
    assert len(session_deny.entries(world.backend, entry.target.key)) == 1


def test_a_federated_console_sign_in_keeps_its_deny_as_long(world: World) -> None:
    """The same for a federation token's console session, denied on the broker's user."""
    world.ok(
        U, "roles/fed", credential_type="federation_token", session_revocation=True,
        policy_document=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    )  # fmt: skip
    issued = world.clock.now()
    _, block = sign_in(world, "fed", "2h", "aws/console/fed/one")
    assert block["kind"] == session_deny.USER
    assert block["console_until"] == issued + 900 + 7200
    assert session_revocation.session_end(block) == issued + 900 + 7200


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


@pytest.mark.parametrize("count", [5, 150])
def test_a_deleted_role_fails_no_check_and_its_entries_leave_at_their_end(
    world: World, caplog: pytest.LogCaptureFixture, count: int
) -> None:
    """A role deleted after its sessions were revoked (its inline policy, and with 150
    sessions an overflow policy, gone with it): the drift check finds nothing to rewrite, with
    no warning each run; its entries and its managed policy leave when the sessions end, the
    first ones ended while others live included (their rewrite meets the role gone)."""
    make_role(world)
    target = TARGET
    store_sessions(world, count // 2, ends_in=600)
    store_sessions(world, count - count // 2, start=count // 2)
    session_revocation.sync(world.backend, target)
    delete_role(world)
    counts = Counts()
    world.backend.telemetry = counts
    world.proxy.clear()

    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()
        world.clock.advance(600 + 1)  # the first half ended, the rest live
        world.backend.periodic()
        assert len(session_deny.entries(world.backend, target.key)) == count - count // 2
        world.clock.advance(3600)
        world.backend.periodic()

    warned = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("awsbroker") and r.levelname == "WARNING"
    ]
    assert warned == []
    assert counts.counted == []
    writes = {"PutRolePolicy", "AttachRolePolicy", "CreatePolicyVersion"}
    assert [c for c in world.proxy.calls() if c.action in writes and c.status == 200] == []
    assert session_deny.target_keys(world.backend) == []
    assert broker_policies(world) == []


def delete_role(world: World, role: str = "target") -> None:
    """Delete `role` as IAM lets one: its inline and attached policies first."""
    iam = world.iam()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=role)


def test_revoking_a_lease_of_a_deleted_role_is_done_with_nothing_to_deny(world: World) -> None:
    """Its session can no longer act: the revocation succeeds, where it failed (NoSuchEntity)
    until the credentials expired; its entry leaves at the session's end, as any other."""
    make_role(world)
    secret = issue(world, "aws/sts/r/gone")
    delete_role(world)
    revoke(world, secret, "aws/sts/r/gone")  # raised UpstreamError before
    assert not world.system.lease_exists("aws/sts/r/gone")
    world.clock.advance(3600 + 1)
    world.backend.periodic()
    assert session_deny.target_keys(world.backend) == []


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
    # The lease ends at its credentials' expiry rounded down to the second, a little before it.
    world.clock.advance(3600 - 2)
    world.proxy.clear()
    revoke(world, secret, "aws/sts/r/lapse")
    assert "PutRolePolicy" not in world.actions()
    assert session_deny.target_keys(world.backend) == []


def store_sessions(world: World, count: int, *, ends_in: float = 3600, start: int = 0) -> None:
    """`count` revoked sessions of role `target`, as revocations store them (the write-ahead
    entries), oldest first; each `aws:userid` as long as AWS's can be (a 64-character name)."""
    now = world.clock.now()
    for n in range(start, start + count):
        entry = session_deny.DenyEntry(
            target=session_deny.Target(session_deny.ROLE, "target", account="123456789012"),
            userid=f"AROAEXAMPLEROLEID0001:{'s' * 58}-{n:05d}",
            lease_id=f"aws/sts/r/{n}",
            ends_at=now + ends_in,
            created_at=now + n / 1000,
            boot=world.system.boot_id,
            issued_at=now - 600,  # issued well before they were revoked
        )
        session_deny.put(world.backend, entry)


def managed_denied(world: World, role: str = "target") -> dict[str, list[str]]:
    iam = world.iam()
    found: dict[str, list[str]] = {}
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        doc: Any = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"][
            "Document"
        ]
        doc = json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc
        found[arn] = doc["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
    return found


def test_sessions_beyond_the_inline_limit_go_to_broker_owned_managed_policies(
    world: World,
) -> None:
    make_role(world)
    target = TARGET
    store_sessions(world, 150)
    session_revocation.sync(world.backend, target)

    inline = denied(world)
    managed = managed_denied(world)
    assert len(managed) == 1
    (arn, overflow), *_ = managed.items()
    assert ":policy/awsbroker-revoked/awsbroker-revoked-" in arn
    assert len(inline) + len(overflow) == 150
    assert set(inline).isdisjoint(overflow)
    # The oldest fill the inline policy, up to IAM's 10,240 characters.
    assert inline == sorted(f"AROAEXAMPLEROLEID0001:{'s' * 58}-{n:05d}" for n in range(len(inline)))
    text = world.iam().get_role_policy(RoleName="target", PolicyName=name_of(world))
    assert len(json.dumps(text["PolicyDocument"], separators=(",", ":"))) <= 10_240

    # More revocations: a new default version of the same managed policy.
    store_sessions(world, 10, start=150)
    session_revocation.sync(world.backend, target)
    assert len(denied(world)) + len(managed_denied(world)[arn]) == 160

    # Once the sessions end, the managed policy is detached and deleted, the inline one too.
    world.clock.advance(3600 + 1)
    world.backend.periodic()
    assert managed_denied(world) == {}
    assert denied(world) == []
    assert (
        world.iam().list_policies(Scope="Local", PathPrefix="/awsbroker-revoked/")["Policies"] == []
    )


def cut_document(before: float, *userids: str) -> dict[str, Any]:
    """The inline policy with a cut: what `aws iam get-role-policy` shows."""
    statements: list[dict[str, Any]] = []
    if userids:
        statements.append(
            {
                "Sid": "AwsbrokerRevokedSessions",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:userid": sorted(userids)}},
            }
        )
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.ceil(before)))
    statements.append(
        {
            "Sid": "AwsbrokerRevokedOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": stamp}},
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def inline(world: World, role: str = "target") -> Any:
    doc: Any = world.iam().get_role_policy(RoleName=role, PolicyName=name_of(world))
    doc = doc["PolicyDocument"]
    return json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc


def test_past_every_managed_policy_every_older_session_is_cut_and_their_leases_revoked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deny_policies, "MANAGED_MAX", 1)
    make_role(world)
    issue(world, "aws/sts/r/older")  # a live lease of the same role, not revoked
    secret = issue(world, "aws/sts/r/full")
    world.clock.advance(60)
    store_sessions(world, 200)  # more than the inline policy and one managed policy hold
    world.clock.advance(1)
    at = world.clock.now()
    world.proxy.clear()

    revoke(world, secret, "aws/sts/r/full")  # succeeds: the cut covers it

    # One inline policy with the cut alone (every listed session was issued before it); the
    # managed one is gone; every lease of that role's sessions issued before it is revoked.
    assert inline(world) == cut_document(at)
    assert managed_denied(world) == {}
    assert not world.system.lease_exists("aws/sts/r/older")
    assert not world.system.lease_exists("aws/sts/r/full")
    cut = session_deny.get_cut(
        world.backend, session_deny.Target("role", "target", "123456789012").key
    )
    assert cut is not None
    assert cut.done
    assert cut.before == math.ceil(at)
    # Until the longest session it covers could end: a role session, and a console session
    # signed in with it up to 15 minutes after its issue.
    assert cut.ends_at == (
        math.ceil(at) + session_revocation.ROLE_SESSION_MAX + session_revocation.SIGNIN_URL_LIFE
    )
    # The older lease's revocation wrote no deny of its own: one write, the cut's.
    assert world.actions().count("PutRolePolicy") == 1

    # A session issued after the cut is denied on its own, next to the cut.
    world.clock.advance(5)
    later = issue(world, "aws/sts/r/later")
    revoke(world, later, "aws/sts/r/later")
    later_id = f"{world.iam().get_role(RoleName='target')['Role']['RoleId']}:"
    later_id += str(later.internal_data["username"])
    assert inline(world) == cut_document(at, later_id)

    # A console session may outlast the longest role session by the sign-in link's life.
    world.clock.advance(session_revocation.ROLE_SESSION_MAX)
    world.backend.periodic()
    assert inline(world) == cut_document(at)
    # Once every session the cut covers would have ended, the cut is gone.
    world.clock.advance(session_revocation.SIGNIN_URL_LIFE)
    world.backend.periodic()
    assert denied(world) == []
    assert session_deny.cut_keys(world.backend) == []


@pytest.mark.parametrize("step", ["before the deny", "after the deny"])
def test_a_crash_during_a_cut_is_finished_by_the_periodic_check(
    world: World, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    make_role(world)
    issue(world, "aws/sts/r/victim")
    world.clock.advance(60)
    target = session_deny.Target("role", "target", "123456789012")
    at = world.clock.now()
    real_write, real_finish = session_revocation._write, session_revocation._finish_cut

    def crash_write(*args: Any) -> None:
        raise Crash

    def crash_finish(*args: Any) -> Any:
        raise Crash

    if step == "before the deny":
        monkeypatch.setattr(session_revocation, "_write", crash_write)
    else:
        monkeypatch.setattr(session_revocation, "_finish_cut", crash_finish)
    with pytest.raises(Crash):
        session_revocation.cut_older_sessions(world.backend, target)
    monkeypatch.setattr(session_revocation, "_write", real_write)
    monkeypatch.setattr(session_revocation, "_finish_cut", real_finish)
    assert world.system.lease_exists("aws/sts/r/victim")

    leases, records = set(world.system.leases), dict(world.system.records)
    world.restart()
    world.system.leases |= leases
    world.system.records.update(records)
    world.system.revoker = lambda _id, internal, issued: world.backend.revoke_secret(
        Request(operation=Operation.DELETE, path="sts/r"),
        Secret(SECRET_ACCESS_KEYS, 0, 0, False, dict(internal), issued),
    )
    world.backend.periodic()
    # Rolled forward: the deny is on the role, and the lease it ends is revoked.
    assert inline(world) == cut_document(at)
    assert not world.system.lease_exists("aws/sts/r/victim")
    cut = session_deny.get_cut(world.backend, target.key)
    assert cut is not None
    assert cut.done


def test_a_cut_whose_deny_aws_refuses_leaves_nothing(world: World) -> None:
    make_role(world)
    issue(world, "aws/sts/r/kept")
    target = session_deny.Target("role", "target", "123456789012")
    world.proxy.inject("PutRolePolicy", 403, "AccessDenied", "no", times=1)
    with pytest.raises(BrokerError, match="Error writing the session deny policy"):
        session_revocation.cut_older_sessions(world.backend, target)
    assert session_deny.cut_keys(world.backend) == []
    assert world.system.lease_exists("aws/sts/r/kept")


def overflowed(world: World) -> tuple[str, list[str], Counts]:
    """150 sessions of make_role()'s role synced, overflowing into a managed policy, and one
    periodic check that finds nothing to rewrite: the policy's ARN, its sessions and the
    metrics the next checks count into."""
    make_role(world)
    store_sessions(world, 150)
    session_revocation.sync(world.backend, TARGET)
    (arn, overflow), *_ = managed_denied(world).items()
    counts = Counts()
    world.backend.telemetry = counts
    world.backend.periodic()  # as it should be: read back, not written
    assert counts.counted == []
    return arn, overflow, counts


def test_a_managed_deny_policy_changed_by_hand_is_rewritten_counted_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    arn, overflow, counts = overflowed(world)

    other = session_revocation.document(["AROAOTHER:someone-else"])
    iam = world.iam()
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=other, SetAsDefault=True)
    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()

    assert managed_denied(world) == {arn: overflow}
    assert counts.counted == [(SESSION_DENY_REWRITES, {"mount": "aws/", "kind": "role"})]
    assert f"session deny policy {arn} on role target was changed on AWS" in caplog.text


def name_of(world: World) -> str:
    return session_revocation.policy_name(world.backend)


def test_a_role_in_another_account_is_denied_through_the_role_named_there(
    moto: MotoServer, world: World
) -> None:
    moto.disable_auth()
    far = allow_all_role_in("111111111111", moto, world.checker_key)
    moto.enable_auth()
    with pytest.raises(InvalidRequest, match="name a role in that account"):
        world.call(U, "roles/r", credential_type="assumed_role", role_arns=[far],
                   session_revocation=True)  # fmt: skip
    world.ok(
        U, "roles/r", credential_type="assumed_role", role_arns=[far], session_revocation=True,
        session_revocation_role_arns=[far],
    )  # fmt: skip
    secret = issue(world, "aws/sts/r/far")
    world.proxy.clear()
    revoke(world, secret, "aws/sts/r/far")

    (assume,) = world.proxy.calls("AssumeRole")
    assert assume.param("RoleArn") == far
    (put,) = world.proxy.calls("PutRolePolicy")
    assert "Credential=ASIA" in put.headers["authorization"]  # signed as the assumed role
    assert put.param("RoleName") == "cross"
    # moto does not evaluate the deny's condition (it denies every session of `cross` there):
    # read it back with moto's checks off, in that account.
    moto.disable_auth()
    try:
        sts = moto_client(moto.endpoint, "sts", *world.checker_key)
        creds = sts.assume_role(RoleArn=far, RoleSessionName="check")["Credentials"]
        iam = moto_client(
            moto.endpoint, "iam", creds["AccessKeyId"], creds["SecretAccessKey"],
            creds["SessionToken"],
        )  # fmt: skip
        names = iam.list_role_policies(RoleName="cross")["PolicyNames"]
        sts.close()
        iam.close()
    finally:
        moto.enable_auth()
    assert [n for n in names if n.startswith("awsbroker-revoked-")] == [name_of(world)]


def test_an_ended_session_whose_removal_fails_is_removed_later(world: World) -> None:
    make_role(world)
    secret = issue(world, "aws/sts/r/later")
    revoke(world, secret, "aws/sts/r/later")
    world.clock.advance(3600 + 1)
    world.proxy.inject("DeleteRolePolicy", 403, "AccessDenied", "no", times=1)
    world.backend.periodic()
    assert len(denied(world)) == 1  # AWS refused: the entry stays, to be removed next time
    assert session_deny.target_keys(world.backend) != []
    world.backend.periodic()
    assert denied(world) == []
    assert session_deny.target_keys(world.backend) == []


def test_leases_issued_while_a_cut_is_written_are_revoked_only_when_they_can_be_denied(
    world: World,
) -> None:
    """A session whose STS answer arrived while the cut was being written may predate it on
    AWS: its lease is revoked with a deny of its own. One without session revocation would only
    be forgotten with working credentials: it is left alone."""
    role_id = make_role(world)
    arn = world.iam().get_role(RoleName="target")["Role"]["Arn"]
    world.ok(U, "roles/p", credential_type="assumed_role", role_arns=[arn])
    target = TARGET
    issue(world, "aws/sts/r/before")
    world.clock.advance(60)
    _, cut = session_deny.put_cut(
        world.backend,
        session_deny.Cut(
            target=target,
            before=float(math.ceil(world.clock.now())),
            ends_at=world.clock.now() + session_revocation.ROLE_SESSION_MAX,
            created_at=world.clock.now(),
            boot=world.system.boot_id,
        ),
    )
    session_revocation.sync(world.backend, target)
    world.clock.advance(2)  # the cut is on AWS; these answers arrived meanwhile
    during = issue(world, "aws/sts/r/during")
    unmarked = issue(world, "aws/sts/p/unmarked", role="p")
    assert session_revocation.FIELD not in unmarked.internal_data
    world.clock.advance(1)

    done, revoked, problem = session_revocation._finish_cut(world.backend, cut)

    assert (done.done, problem) == (True, "")
    assert sorted(revoked) == ["aws/sts/r/before", "aws/sts/r/during"]
    assert world.system.lease_exists("aws/sts/p/unmarked")
    assert inline(world) == cut_document(cut.before, userid(world, role_id, during))


def test_a_lease_the_cut_fails_to_revoke_is_retried_by_the_periodic_check(world: World) -> None:
    make_role(world)
    issue(world, "aws/sts/r/stuck")
    revoker = world.system.revoker
    assert revoker is not None

    def failing(lease_id: str, internal: Any, issued: float) -> None:
        raise BrokerError("the lease store is busy")

    world.system.revoker = failing
    target = TARGET
    world.clock.advance(1)
    cut, revoked, problem = session_revocation.cut_older_sessions(world.backend, target)

    # The deny is on AWS; the lease is not revoked yet, and the answer says so.
    assert inline(world) == cut_document(cut.before)
    assert (revoked, cut.done) == ([], False)
    assert "the lease store is busy" in problem
    assert world.system.lease_exists("aws/sts/r/stuck")

    world.system.revoker = revoker
    world.backend.periodic()  # its writer is alive and it is young: left to it
    assert world.system.lease_exists("aws/sts/r/stuck")
    world.clock.advance(session_revocation.MIN_AGE)
    world.backend.periodic()
    assert not world.system.lease_exists("aws/sts/r/stuck")
    stored = session_deny.get_cut(world.backend, target.key)
    assert stored is not None
    assert stored.done


def test_a_second_cut_aws_refuses_leaves_the_first_in_force(world: World) -> None:
    make_role(world)
    issue(world, "aws/sts/r/first")
    world.clock.advance(60)
    target = session_deny.Target("role", "target", "123456789012")
    first, _, _ = session_revocation.cut_older_sessions(world.backend, target)
    assert first.done
    world.clock.advance(60)
    world.proxy.inject("PutRolePolicy", 403, "AccessDenied", "no", times=1)
    with pytest.raises(BrokerError, match="Error writing the session deny policy"):
        session_revocation.cut_older_sessions(world.backend, target)
    # The failed cut changed nothing: the first is still stored, and still written on AWS
    # after the periodic check (its sessions' leases were revoked: they must stay denied).
    assert session_deny.get_cut(world.backend, target.key) == first
    world.backend.periodic()
    assert inline(world) == cut_document(first.before)


def test_a_lease_revoked_while_another_node_writes_a_cut_is_denied_on_its_own(
    world: World,
) -> None:
    """A cut stored but not yet on AWS (another node's PutRolePolicy in flight) may still fail
    and be undone: a lease revoked meanwhile is not counted as covered by it."""
    role_id = make_role(world)
    secret = issue(world, "aws/sts/r/x")
    world.clock.advance(60)
    target = TARGET
    _, pending = session_deny.put_cut(
        world.backend,
        session_deny.Cut(
            target=target,
            before=float(math.ceil(world.clock.now())),
            ends_at=world.clock.now() + session_revocation.ROLE_SESSION_MAX,
            created_at=world.clock.now(),
            boot="boot-of-another-node",
        ),
    )
    world.clock.advance(1)
    revoke(world, secret, "aws/sts/r/x")
    # The other node's write fails: its cut is undone.
    assert session_deny.replace_cut(world.backend, pending, None)
    world.backend.periodic()
    assert denied(world) == [userid(world, role_id, secret)]


@contextlib.contextmanager
def writes_applied_then_lost(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within: every deny policy write reaches AWS and then fails as a read timeout would (the
    answer lost), as the write's caller sees it."""
    real_write = session_revocation._write

    def applied_then_lost(*args: Any) -> None:
        real_write(*args)
        raise UpstreamError("Error writing the session deny policy on target: read timeout")

    monkeypatch.setattr(session_revocation, "_write", applied_then_lost)
    try:
        yield
    finally:
        monkeypatch.setattr(session_revocation, "_write", real_write)


def test_a_cut_that_reached_aws_though_its_write_failed_is_taken_off_aws(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PutRolePolicy AWS applied but whose answer was lost (a read timeout): the cut is
    undone in storage, so the periodic check takes it off AWS too; the lease it did not revoke
    has working credentials again."""
    make_role(world)
    issue(world, "aws/sts/r/live")
    world.clock.advance(60)
    target = TARGET
    with writes_applied_then_lost(monkeypatch), pytest.raises(UpstreamError):
        session_revocation.cut_older_sessions(world.backend, target)
    assert world.system.lease_exists("aws/sts/r/live")
    assert session_deny.get_cut(world.backend, target.key) is None

    world.backend.periodic()
    assert world.iam().list_role_policies(RoleName="target")["PolicyNames"] == []


def test_a_deny_that_reached_aws_though_its_write_failed_is_taken_off_aws(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for one revocation: its lease stays, so its session must work again."""
    make_role(world)
    secret = issue(world, "aws/sts/r/kept")
    with writes_applied_then_lost(monkeypatch), pytest.raises(UpstreamError):
        revoke(world, secret, "aws/sts/r/kept")
    assert len(denied(world)) == 1  # on AWS, with no record left

    world.backend.periodic()
    assert world.iam().list_role_policies(RoleName="target")["PolicyNames"] == []


def test_a_slow_deny_write_on_one_role_holds_up_no_other(world: World) -> None:
    """Rewrites of one identity's policy take turns in a process; another identity's do not
    wait for them (AWS calls run in the server process by default)."""
    make_role(world, "slow")
    make_role(world, "quick")
    slow = session_deny.Target(session_deny.ROLE, "slow", account="123456789012")
    quick = session_deny.Target(session_deny.ROLE, "quick", account="123456789012")
    outcome: list[object] = []
    arrived = world.proxy.hold("PutRolePolicy", RoleName="slow")
    held = threading.Thread(
        target=lambda: outcome.append(session_revocation.cut_older_sessions(world.backend, slow))
    )
    held.start()
    try:
        assert arrived.wait(10), "the slow role's write never reached AWS"
        cut, _, _ = session_revocation.cut_older_sessions(world.backend, quick)
        assert cut.done
        assert outcome == []  # the slow one is still held
    finally:
        world.proxy.release("PutRolePolicy")
        held.join(10)
    assert len(outcome) == 1


def test_an_abandoned_deny_dropped_while_another_node_syncs_is_not_written_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic check drops an abandoned entry (its revocation stopped half way; the lease
    lives on) while another node writes the same identity's policy for a revocation of its
    own. That node must not write the dropped session back: its record is gone a moment later,
    so nothing would ever take it off again, and a live lease's credentials would be denied."""
    role_id = make_role(world)
    kept = issue(world, "aws/sts/r/kept")
    revoke(world, kept, "aws/sts/r/kept")  # a finished revocation: its deny stays
    stuck = issue(world, "aws/sts/r/stuck")
    session_revocation.revoke(world.backend, stuck.internal_data)  # the lease never deleted
    assert denied(world) == sorted([userid(world, role_id, kept), userid(world, role_id, stuck)])
    world.clock.advance(session_revocation.MIN_AGE + 1)  # its writer is long gone
    real_sync = session_revocation.sync
    raced: list[bool] = []

    def another_node_syncs_meanwhile(backend: Any, target: Any, *rest: Any) -> None:
        real_sync(backend, target, *rest)
        if not raced:  # the periodic check's own write is done, its records not yet deleted
            raced.append(True)
            real_sync(backend, target)  # the other node's sync lands after it

    monkeypatch.setattr(session_revocation, "sync", another_node_syncs_meanwhile)
    world.backend.periodic()
    assert raced
    assert denied(world) == [userid(world, role_id, kept)]
    monkeypatch.setattr(session_revocation, "sync", real_sync)
    world.backend.periodic()  # nothing left to repair, nothing counted as drift
    assert denied(world) == [userid(world, role_id, kept)]
    stored = [
        e.lease_id
        for key in session_deny.target_keys(world.backend)
        for e in session_deny.entries(world.backend, key)
    ]
    assert stored == ["aws/sts/r/kept"]


def test_entries_stored_by_an_earlier_or_a_later_version_are_read_marked_and_removed(
    world: World,
) -> None:
    """A record an earlier version wrote (before `issued_at`) is marked and removed like any
    (the compare-and-set is on the bytes as stored, not as this version would write them), and
    one with a field a later version added is read, that field left out."""
    target = TARGET
    entry = session_deny.DenyEntry(
        target, "AROAEXAMPLE:old", "aws/sts/r/old", ends_at=world.clock.now() + 3600,
        created_at=world.clock.now(), boot="boot-gone",
    )  # fmt: skip
    earlier = json.loads(entry.to_record())
    del earlier["issued_at"]
    world.backend.storage.put(entry.key, json.dumps(earlier).encode())
    [read] = session_deny.entries(world.backend, target.key)
    assert read == entry
    marked = session_deny.mark_dropping(world.backend, read)
    assert marked is not None
    assert session_deny.entries(world.backend, target.key) == [marked]
    assert session_deny.delete(world.backend, marked)
    assert session_deny.entries(world.backend, target.key) == []

    later = {**json.loads(entry.to_record()), "a_field_from_a_later_version": True}
    world.backend.storage.put(entry.key, json.dumps(later).encode())
    assert session_deny.entries(world.backend, target.key) == [entry]


def broker_policies(world: World) -> list[str]:
    """Every managed policy under the broker's path, attached or not."""
    found = world.iam().list_policies(Scope="Local", PathPrefix="/awsbroker-revoked/")
    return sorted(p["Arn"] for p in found["Policies"])


def crash_between_create_policy_and_its_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> session_deny.Target:
    """150 sessions of make_role()'s role synced, overflowing into a managed policy, stopped
    after CreatePolicy and before its ARN is recorded; then the process restarts."""
    target = TARGET
    store_sessions(world, 150)

    def crash(*args: Any) -> None:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(session_deny, "put_managed", crash)
        with pytest.raises(Crash):
            session_revocation.sync(world.backend, target)
    world.restart()
    assert len(broker_policies(world)) == 1  # created on AWS, recorded nowhere
    assert managed_denied(world) == {}  # and not attached: its sessions are not denied
    return target


def test_a_managed_policy_created_but_not_recorded_is_adopted_by_the_periodic_check(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_role(world)
    target = crash_between_create_policy_and_its_record(world, monkeypatch)
    counts = Counts()
    world.backend.telemetry = counts

    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()

    # Adopted: the same policy, recorded, attached, with the overflowing sessions.
    (orphan,) = broker_policies(world)
    managed = managed_denied(world)
    assert list(managed) == [orphan]
    assert len(denied(world)) + len(managed[orphan]) == 150
    assert session_deny.managed_arns(world.backend, target) == {1: orphan}
    assert session_deny.intents(world.backend) == []
    assert counts.counted == [(SESSION_DENY_REWRITES, {"mount": "aws/", "kind": "role"})]
    assert "was never recorded (a write stopped half way)" in caplog.text

    # Further revocations write new versions of it; once every session ended it is gone.
    store_sessions(world, 5, start=150)
    session_revocation.sync(world.backend, target)
    assert len(denied(world)) + len(managed_denied(world)[orphan]) == 155
    world.clock.advance(3600 + 1)
    world.backend.periodic()
    assert broker_policies(world) == []
    assert denied(world) == []


def test_a_managed_policy_created_but_not_recorded_is_adopted_by_the_next_revocation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CreatePolicy answers EntityAlreadyExists for the deterministic name: ours, adopted."""
    make_role(world)
    target = crash_between_create_policy_and_its_record(world, monkeypatch)
    (orphan,) = broker_policies(world)
    store_sessions(world, 1, start=150)
    world.proxy.clear()

    session_revocation.sync(world.backend, target)

    assert world.actions().count("CreatePolicy") == 1  # answered EntityAlreadyExists
    assert broker_policies(world) == [orphan]
    assert len(denied(world)) + len(managed_denied(world)[orphan]) == 151
    assert session_deny.intents(world.backend) == []


def test_a_managed_policy_created_but_not_recorded_and_no_longer_needed_is_removed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_role(world)
    crash_between_create_policy_and_its_record(world, monkeypatch)

    world.clock.advance(3600 + 1)  # every session ended before any check ran
    world.backend.periodic()

    assert broker_policies(world) == []
    assert denied(world) == []
    assert session_deny.intents(world.backend) == []


def test_a_managed_policy_creation_in_flight_on_a_live_process_is_left_alone(
    world: World,
) -> None:
    """An intent younger than five minutes whose writer is alive may be a CreatePolicy in
    flight: the periodic check does not remove that policy under it."""
    make_role(world)
    target = TARGET
    name = f"{name_of(world)}-{target.key}-1"
    intent = session_deny.ManagedIntent(target, 1, name, world.system.boot_id, world.clock.now())
    session_deny.put_intent(world.backend, intent, world.system.node_alive)
    world.iam().create_policy(
        PolicyName=name, Path="/awsbroker-revoked/", PolicyDocument=session_revocation.document([])
    )
    world.backend.periodic()
    assert len(broker_policies(world)) == 1
    world.clock.advance(session_revocation.MIN_AGE)
    world.backend.periodic()
    assert broker_policies(world) == []
    assert session_deny.intents(world.backend) == []


def orphan_no_longer_needed(world: World, monkeypatch: pytest.MonkeyPatch) -> session_deny.Target:
    """A managed policy a dead writer created and never recorded, whose sessions have ended:
    the periodic check is about to remove it."""
    make_role(world)
    target = crash_between_create_policy_and_its_record(world, monkeypatch)
    world.clock.advance(3600 + 1)
    for entry in session_deny.entries(world.backend, target.key):
        session_deny.delete(world.backend, entry)
    return target


def other_node_revokes(
    world: World, monkeypatch: pytest.MonkeyPatch, target: session_deny.Target
) -> BrokerError | None:
    """Another node (its own process-local lock) revokes 150 sessions of the same role: they
    spill into the same managed policy. As a revocation does, a failed write takes its
    entries back (the revocation fails, and the lease manager retries it)."""
    store_sessions(world, 150, start=1000)
    with monkeypatch.context() as patched:
        patched.setattr(session_revocation, "_lock_for", lambda *_: threading.Lock())
        try:
            session_revocation.sync(world.backend, target)
        except BrokerError as exc:
            for entry in session_deny.entries(world.backend, target.key):
                session_deny.delete(world.backend, entry)
            return exc
    return None


def test_a_write_during_the_removal_of_a_claimed_policy_fails_and_is_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The periodic check claimed an unrecorded policy no longer needed; another node's
    revocation spilling into it meanwhile does not adopt it (it would record a policy about to
    be deleted): it fails, and its retry creates the policy again."""
    target = orphan_no_longer_needed(world, monkeypatch)
    real_remove = deny_policies.remove_unrecorded
    refused: list[BrokerError | None] = []

    def remove_while_another_node_revokes(*args: Any) -> str:
        refused.append(other_node_revokes(world, monkeypatch, target))
        return real_remove(*args)

    monkeypatch.setattr(deny_policies, "remove_unrecorded", remove_while_another_node_revokes)
    session_revocation._finish_intents(world.backend, world.clock.now())

    [error] = refused
    assert isinstance(error, UpstreamError)
    assert "is being removed by another process's periodic check" in str(error)
    assert broker_policies(world) == []
    assert session_deny.managed_arns(world.backend, target) == {}
    assert session_deny.intents(world.backend) == []

    # The lease manager retries the revocation: the policy is created again, recorded there.
    assert other_node_revokes(world, monkeypatch, target) is None
    [arn] = broker_policies(world)
    assert session_deny.managed_arns(world.backend, target) == {1: arn}
    assert len(denied(world)) + len(managed_denied(world)[arn]) == 150


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_policy_a_write_took_over_once_the_claim_ran_out_is_kept_and_rewritten(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    when: str,
) -> None:
    """A removal slower than its claim: a write stores its intent over it and adopts the
    policy. Checked again before the detach and before the delete, the policy is kept, and the
    identity marked for the next check, which attaches it again if it was detached. The write
    comes `when` the removal detaches it (after the first check, before the second)."""
    target = orphan_no_longer_needed(world, monkeypatch)
    real = deny_policies._detach

    def slow_detach(*args: Any) -> None:
        if when == "after":
            real(*args)
        world.clock.advance(session_deny.CLAIM_LIFE)  # the claim runs out
        assert other_node_revokes(world, monkeypatch, target) is None
        if when == "before":
            real(*args)  # detaches what the write has just attached

    monkeypatch.setattr(deny_policies, "_detach", slow_detach)
    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        session_revocation._finish_intents(world.backend, world.clock.now())

    [arn] = broker_policies(world)
    assert session_deny.managed_arns(world.backend, target) == {1: arn}
    assert target.key in session_deny.dirty(world.backend)
    assert "kept: a write took it over while it was being removed" in caplog.text
    assert "removed managed session deny policy" not in caplog.text
    world.backend.periodic()
    assert len(denied(world)) + len(managed_denied(world)[arn]) == 150
    assert session_deny.dirty(world.backend) == {}


def test_a_failed_removal_gives_its_claim_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A removal AWS refused leaves the intent unclaimed: a write needing the policy adopts
    it at once rather than failing until the claim runs out."""
    target = orphan_no_longer_needed(world, monkeypatch)

    def refused(*args: Any) -> None:
        raise UpstreamError("throttled")

    with monkeypatch.context() as patched:
        patched.setattr(deny_policies, "_detach", refused)
        session_revocation._finish_intents(world.backend, world.clock.now())
    [(intent, _)] = session_deny.intents(world.backend)
    assert intent.boot == world.system.boot_id
    assert not intent.claimed

    assert other_node_revokes(world, monkeypatch, target) is None
    [arn] = broker_policies(world)
    assert session_deny.managed_arns(world.backend, target) == {1: arn}
    assert len(denied(world)) + len(managed_denied(world)[arn]) == 150


def test_an_intent_whose_policy_was_never_created_is_cleared_without_saying_removed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A writer that stopped before CreatePolicy: nothing on AWS; its intent is cleared and
    the log does not claim a removal."""
    make_role(world)
    target = TARGET
    name = f"{name_of(world)}-{target.key}-1"
    intent = session_deny.ManagedIntent(target, 1, name, "boot-gone", world.clock.now())
    assert session_deny.put_intent(world.backend, intent, world.system.node_alive)
    with caplog.at_level("INFO", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()
    assert session_deny.intents(world.backend) == []
    assert "removed managed session deny policy" not in caplog.text
    assert "was never created" in caplog.text


def test_a_managed_deny_policy_detached_by_hand_is_reattached_counted_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    arn, overflow, counts = overflowed(world)
    assert list(managed_denied(world)) == [arn]

    world.iam().detach_role_policy(RoleName="target", PolicyArn=arn)
    with caplog.at_level("WARNING", logger="awsbroker.engines.aws.session_revocation"):
        world.backend.periodic()

    assert managed_denied(world) == {arn: overflow}
    assert counts.counted == [(SESSION_DENY_REWRITES, {"mount": "aws/", "kind": "role"})]
    assert f"session deny policy {arn} on role target was detached on AWS" in caplog.text


def user_documents(world: World, user: str) -> tuple[str | None, dict[str, Any]]:
    """The broker user's inline deny policy, compact (None: none), and the default version
    of each broker policy attached to it, parsed."""
    iam = world.iam()
    names = iam.list_user_policies(UserName=user)["PolicyNames"]
    inline: str | None = None
    for name in names:
        if name == name_of(world):
            doc: Any = iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"]
            parsed = json.loads(urllib.parse.unquote(doc)) if isinstance(doc, str) else doc
            inline = json.dumps(parsed, separators=(",", ":"))  # IAM counts no whitespace
    attached = iam.list_attached_user_policies(UserName=user, PathPrefix="/awsbroker-revoked/")
    managed: dict[str, Any] = {}
    for policy in attached["AttachedPolicies"]:
        arn = policy["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        text: Any = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        text = text["Document"]
        managed[arn] = json.loads(urllib.parse.unquote(text)) if isinstance(text, str) else text
    return inline, managed


def test_federated_sessions_fill_the_user_inline_policy_then_managed_ones_then_a_cut(
    world: World, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Federation tokens' sessions are denied on the broker's own user: 2,048 characters of
    inline policy, then the 4 managed policies it creates and attaches to itself, then a cut
    of every older session of the user. (Managed policies held to 600 characters here, some
    nine sessions each, so that fewer revocations fill them.)"""
    monkeypatch.setattr(deny_policies, "MANAGED_LIMIT", 600)
    moto.disable_auth()  # moto would apply the deny on the broker's user to its every call
    try:
        world.ok(
            U, "roles/fed", credential_type="federation_token", session_revocation=True,
            policy_document=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
        )  # fmt: skip
        most_managed, user, cut, revoked = 0, "", None, 0
        while cut is None:
            assert revoked < 150, "the revocations never reached the cut"
            lease = f"aws/sts/fed/{revoked}"
            secret = issue(world, lease, role="fed")
            block = secret.internal_data[session_revocation.FIELD]
            assert isinstance(block, dict)
            assert block["kind"] == session_deny.USER
            user = str(block["name"])
            world.clock.advance(10)
            revoke(world, secret, lease)
            revoked += 1
            inline, managed = user_documents(world, user)
            assert inline is not None
            assert len(inline) <= deny_policies.USER_INLINE_LIMIT
            assert all(len(json.dumps(m, separators=(",", ":"))) <= 600 for m in managed.values())
            most_managed = max(most_managed, len(managed))
            target = session_deny.Target(session_deny.USER, user, str(block["account"]))
            cut = session_deny.get_cut(world.backend, target.key)

        assert most_managed == deny_policies.MANAGED_MAX
        assert revoked > 20  # the inline policy alone held the first ones
        # The cut covers every listed session (each issued 10 s before its revocation): the
        # inline policy holds the cut alone, and the managed policies are gone.
        inline, managed = user_documents(world, user)
        assert inline is not None
        assert json.loads(inline) == cut_document(cut.before)
        assert managed == {}
        assert broker_policies(world) == []
        assert cut.done
    finally:
        moto.enable_auth()
