"""Two cores on one storage (two nodes in one process): a change made through one is in force
for the next request through the other, and what did not change is kept, not rebuilt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.core_harness import (
    ENGINE_MOUNT,
    ENGINE_TYPE,
    Harness,
    another_node,
    make_harness,
    rule,
)

from awsbroker.core.mounts import new_entry
from awsbroker.sdk.errors import InternalError, InvalidRequest, NotFound, PermissionDenied
from awsbroker.sdk.logical import Operation

R, U, D = Operation.READ, Operation.UPDATE, Operation.DELETE


@pytest.fixture
def a() -> Iterator[Harness]:
    h = make_harness()
    yield h
    h.close()


@pytest.fixture
def b(a: Harness) -> Iterator[Harness]:
    h = another_node(a)
    yield h
    h.close()


def test_a_policy_written_through_one_node_governs_the_next_request_on_the_other(
    a: Harness, b: Harness
) -> None:
    a.policy("probe", rule("test/echo", "read"))
    token = a.token({"policies": ["probe"]})
    assert b.ok(R, "test/echo", token=token).data is not None
    a.policy("probe", rule("test/other", "read"))
    with pytest.raises(PermissionDenied):
        b.call(R, "test/echo", token=token)


def test_a_tuned_mount_keeps_its_backend_and_a_remade_one_gets_a_new_one(
    a: Harness, b: Harness
) -> None:
    b.ok(R, "test/echo")
    backend = b.core.router.get(ENGINE_MOUNT)
    assert backend is not None
    a.core.tune_mount(ENGINE_MOUNT, lambda entry: setattr(entry.config, "max_lease_ttl", 77))
    echoed = b.ok(R, "test/echo").data
    assert echoed is not None
    assert echoed["max_lease_ttl"] == 77
    route = b.core.router.get(ENGINE_MOUNT)
    assert route is not None
    assert route.backend is backend.backend
    a.core.disable_mount(ENGINE_MOUNT)
    with pytest.raises(NotFound):
        b.call(R, "test/echo")
    a.core.enable_mount(new_entry(ENGINE_MOUNT, ENGINE_TYPE))
    b.ok(R, "test/echo")
    route = b.core.router.get(ENGINE_MOUNT)
    assert route is not None
    assert route.backend is not backend.backend


def test_an_unchanged_audit_device_stays_open_when_another_changes(
    a: Harness, b: Harness, tmp_path: Path
) -> None:
    first = {"type": "file", "options": {"file_path": str(tmp_path / "first.log")}}
    a.call(U, "sys/audit/first", first)
    b.ok(R, "test/echo")
    device = b.core.audit.broker.get("first/")
    assert device is not None
    second = {"type": "file", "options": {"file_path": str(tmp_path / "second.log")}}
    a.call(U, "sys/audit/second", second)
    b.call(R, "test/items/toboth")  # paths are not hashed in audit entries
    assert b.core.audit.broker.get("first/") is device
    assert "toboth" in (tmp_path / "second.log").read_text()
    assert "toboth" in (tmp_path / "first.log").read_text()
    a.call(D, "sys/audit/first")
    b.call(R, "test/items/tosecondonly")
    assert "tosecondonly" not in (tmp_path / "first.log").read_text()
    assert "tosecondonly" in (tmp_path / "second.log").read_text()


def test_a_change_stored_but_never_counted_is_picked_up_by_the_periodic_reload(
    a: Harness, b: Harness
) -> None:
    """A node that dies between storing a change and counting it: the others reload anyway."""
    a.policy("probe", rule("test/echo", "read"))
    token = a.token({"policies": ["probe"]})
    b.ok(R, "test/echo", token=token)
    a.core.policies.put("probe", rule("test/other", "read"))  # stored, not counted
    b.ok(R, "test/echo", token=token)  # stale: nothing told b
    a.clock.advance(20)
    b.core.tick()
    with pytest.raises(PermissionDenied):
        b.call(R, "test/echo", token=token)


def test_a_sealed_node_loads_every_view_again_at_unseal(a: Harness, b: Harness) -> None:
    b.core.seal_vault()
    a.core.tune_mount(ENGINE_MOUNT, lambda entry: setattr(entry.config, "default_lease_ttl", 55))
    b.core.submit_unseal_key(b.key)
    echoed = b.ok(R, "test/echo").data
    assert echoed is not None
    assert echoed["default_lease_ttl"] == 55


def test_a_renewal_racing_a_revocation_on_another_node_does_not_bring_the_lease_back(
    a: Harness, b: Harness
) -> None:
    lease_id = a.creds("x", {"ttl": 60}).lease_id
    b.ok(R, "test/echo")
    b.engine.during_renew = lambda: a.call(U, "sys/leases/revoke", {"lease_id": lease_id})
    with pytest.raises(InvalidRequest, match="lease not found"):
        b.call(U, "sys/leases/renew", {"lease_id": lease_id, "increment": 600})
    assert a.core.expiration.get(lease_id) is None
    assert a.engine.revoked_serials() == [1]


def test_a_renewal_racing_a_renewal_on_another_node_keeps_the_later(a: Harness, b: Harness) -> None:
    lease_id = a.creds("x", {"ttl": 60}).lease_id
    b.ok(R, "test/echo")
    b.engine.during_renew = lambda: a.call(U, "sys/leases/renew", {"lease_id": lease_id})
    renewed = b.ok(U, "sys/leases/renew", {"lease_id": lease_id, "increment": 600})
    assert renewed.lease_duration == 600
    lease = a.core.expiration.get(lease_id)
    assert lease is not None
    assert lease.ttl == 600


def test_a_device_this_node_cannot_set_up_fails_closed_here_and_is_tried_again(
    a: Harness, b: Harness, tmp_path: Path
) -> None:
    """A device type another node's build has and this one lacks (a mixed-version cluster):
    requests this node serves fail (500) rather than go unaudited, until it can set it up."""
    a.core.audit.sinks["future"] = a.core.audit.sinks["file"]
    future = {"type": "future", "options": {"file_path": str(tmp_path / "future.log")}}
    a.call(U, "sys/audit/future", future)
    with pytest.raises(InternalError):
        b.call(R, "test/items/unaudited")
    b.core.audit.sinks["future"] = b.core.audit.sinks["file"]  # this node is upgraded
    a.clock.advance(20)
    b.core.tick()
    b.call(R, "test/items/audited")
    assert "audited" in (tmp_path / "future.log").read_text()


def test_a_use_spent_is_served_though_the_tokens_last_use_revokes_it_meanwhile(
    a: Harness, b: Harness
) -> None:
    """Two requests of a `num_uses=2` token, on two nodes: the first is admitted (its use
    spent), then the second spends the last use and revokes the token before the first's
    handler runs. The first is still answered: every use spent is a request served."""
    token = a.token({"policies": ["default"], "num_uses": 2})
    answers: list[object] = []

    class Meanwhile:
        """An audit sink: the first request's entry (written between its admission and its
        handler) sets the second request off, on the other node."""

        def write(self, line: bytes) -> None:
            if not answers and b"lookup-self" in line and b'"type":"request"' in line:
                answers.append("started")
                answers.append(b.call(R, "auth/token/lookup-self", token=token))

        def reopen(self) -> None:
            return None

        def close(self) -> None:
            return None

    for node in (a, b):
        node.core.audit.sinks["meanwhile"] = lambda options: Meanwhile()
    a.call(U, "sys/audit/meanwhile", {"type": "meanwhile"})
    first = a.call(R, "auth/token/lookup-self", token=token)
    assert first is not None
    assert first.data is not None
    assert answers[1] is not None  # the second, the last use, was served too
    with pytest.raises(PermissionDenied):
        b.call(R, "auth/token/lookup-self", token=token)
