"""`sys/remount` in the core: a mount moves with its leases (renamed, the old IDs still
answering), its jobs and its tokens, and a move interrupted by a crash is finished by the next
node to start (or tick) once the dead node's heartbeat is stale."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.core_harness import Harness, another_node, make_harness

from awsbroker.core.mounts import new_entry
from awsbroker.core.nodes import DEAD_AFTER
from awsbroker.core.remount import FAILURE, IN_PROGRESS, STRAGGLER_GRACE, SUCCESS
from awsbroker.core.system_view import MountSystemView
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.expiry import KIND_JOB, job_key
from awsbroker.sdk.logical import JSONObject, Operation

R, U, L, D = Operation.READ, Operation.UPDATE, Operation.LIST, Operation.DELETE


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = make_harness()
    harness.core.migrations.background = lambda work: work()  # the move's tail, inline
    yield harness
    harness.close()


def data(h: Harness, op: Operation, path: str, body: JSONObject | None = None) -> dict[str, Any]:
    response = h.ok(op, path, body)
    assert response.data is not None
    return dict(response.data)


def test_leases_move_and_old_ids_still_renew_and_revoke(h: Harness) -> None:
    first = h.creds("a", {"ttl": 600, "renewable": True}).lease_id
    second = h.creds("b", {"ttl": 600, "renewable": True}).lease_id
    moved = data(h, U, "sys/remount", {"from": "test", "to": "moved/here"})
    status = data(h, R, f"sys/remount/status/{moved['migration_id']}")
    assert status["migration_info"] == {
        "source_mount": "test/",
        "target_mount": "moved/here/",
        "status": SUCCESS,
    }
    assert data(h, L, "sys/leases/lookup/moved/here/creds/")["keys"] == ["a/", "b/"]
    assert data(h, L, "sys/leases/lookup/test/")["keys"] == []
    new_first = "moved/here/" + first.removeprefix("test/")
    # A client holding the old ID: looked up, renewed and revoked under the new one.
    assert data(h, U, "sys/leases/lookup", {"lease_id": first})["id"] == new_first
    # What an engine's write-ahead entry naming the old ID asks: the lease still exists.
    entry = h.core.mounts.entries["moved/here/"]
    assert MountSystemView(h.core, entry).lease_exists(first)
    renewed = h.ok(U, "sys/leases/renew", {"lease_id": first, "increment": 60})
    assert renewed.lease_id == new_first
    assert h.engine.renewed[-1].internal_data["name"] == "a"
    h.call(U, "sys/leases/revoke", {"lease_id": first})
    assert [s.internal_data["name"] for s in h.engine.revoked] == ["a"]
    h.call(
        U, f"sys/leases/revoke-prefix/{second.rsplit('/', 1)[0].replace('test/', 'moved/here/')}"
    )
    assert [s.internal_data["name"] for s in h.engine.revoked] == ["a", "b"]
    with pytest.raises(InvalidRequest, match="invalid lease"):
        h.ok(U, "sys/leases/lookup", {"lease_id": second})


def test_jobs_move_with_the_mount(h: Harness) -> None:
    index = h.core.physical
    index.schedule(job_key("test/", "tick/a"), KIND_JOB, h.clock.now() + 50, mount="test/")
    h.ok(U, "sys/remount", {"from": "test", "to": "other"})
    assert [j.key for j in index.jobs("test/")] == []
    [job] = index.jobs("other/")
    assert (job.key, job.expire_at) == (job_key("other/", "tick/a"), h.clock.now() + 50)


def test_a_lease_stored_under_the_old_path_after_the_move_is_still_revoked(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 60}).lease_id
    h.ok(U, "sys/remount", {"from": "test", "to": "other"})
    # As a request in flight on a node that had not seen the move would store it: by hand.
    blob = h.core.barrier.get(f"sys/expire/id/other/{lease_id.removeprefix('test/')}")
    assert blob is not None
    h.core.barrier.put(f"sys/expire/id/{lease_id}", blob.replace(b'"other/', b'"test/'))
    h.core.physical.schedule(lease_id, "lease", h.clock.now() + 60, mount="test/")
    h.clock.advance(61)
    h.core.tick()
    assert len(h.engine.revoked) == 2  # both copies revoked by the mount's backend


def straggle(h: Harness, lease_id: str, target: str) -> str:
    """Store a copy of the lease `lease_id` (moved to `target`) under its old ID, as a request
    that was in flight on a node that had not seen the move stores it."""
    moved = target + lease_id.split("/", 1)[1]
    blob = h.core.barrier.get(f"sys/expire/id/{moved}")
    assert blob is not None
    straggler = lease_id[:-4] + "late"
    old_mount = lease_id.split("/", 1)[0] + "/"
    blob = blob.replace(b'"' + target.encode(), b'"' + old_mount.encode())
    h.core.barrier.put(f"sys/expire/id/{straggler}", blob.replace(moved[-4:].encode(), b"late"))
    h.core.physical.schedule(straggler, "lease", h.clock.now() + 3600, mount=old_mount)
    return straggler


def test_leases_stored_under_the_old_path_after_the_move_are_renamed_by_the_tick(
    h: Harness,
) -> None:
    lease_id = h.creds("a", {"ttl": 3600}).lease_id
    h.ok(U, "sys/remount", {"from": "test", "to": "other"})
    straggler = straggle(h, lease_id, "other/")
    h.clock.advance(20)
    h.core.tick()
    keys = data(h, L, "sys/leases/lookup/other/creds/a/")["keys"]
    assert sorted(keys) == sorted([lease_id.rsplit("/", 1)[1], straggler.rsplit("/", 1)[1]])
    assert data(h, L, "sys/leases/lookup/test/")["keys"] == []
    # Past the grace, or once another mount has the old path, the old path is left alone.
    h.core.enable_mount(new_entry("test/", "test"))
    late = straggle(h, lease_id, "other/")
    h.clock.advance(20)
    h.core.tick()
    assert data(h, L, "sys/leases/lookup/test/creds/a/")["keys"] == [late.rsplit("/", 1)[1]]
    h.clock.advance(STRAGGLER_GRACE)
    h.core.tick()
    assert h.core.barrier.list("core/remount/pending/") == []


def test_token_leases_of_a_moved_auth_mount_follow_it(h: Harness) -> None:
    h.core.auth_methods["userpass"] = h.core.engines["test"]
    h.call(U, "sys/auth/up", {"type": "userpass"})
    h.ok(U, "sys/remount", {"from": "auth/up", "to": "auth/up2"})
    assert "up2/" in data(h, R, "sys/auth")
    with pytest.raises(InvalidRequest, match='cannot remount "auth/token/"'):
        h.ok(U, "sys/remount", {"from": "auth/token", "to": "auth/t2"})
    with pytest.raises(InvalidRequest, match="cannot remount auth mount to non-auth mount"):
        h.ok(U, "sys/remount", {"from": "auth/up2", "to": "up3"})


def test_a_move_interrupted_by_a_crash_is_finished_by_the_next_node(h: Harness) -> None:
    lease_id = h.creds("a", {"ttl": 600, "renewable": True}).lease_id

    def crash(source: str, target: str) -> int:
        raise SystemExit("killed in the middle of the move")

    h.core.expiration.rename_prefix = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        h.ok(U, "sys/remount", {"from": "test", "to": "other"})
    [migration] = h.core.migrations.in_progress()
    assert migration.status == IN_PROGRESS
    # The table moved before the crash: every node routes the new path, and the lease is still
    # under its old ID, where it keeps answering.
    restarted = another_node(h)
    restarted.core.migrations.background = lambda work: work()
    assert data(restarted, U, "sys/leases/lookup", {"lease_id": lease_id})["id"] == lease_id
    restarted.core.tick()  # the dead node's heartbeat is still fresh: not yet
    waiting = restarted.core.migrations.get(migration.migration_id)
    assert waiting is not None
    assert waiting.status == IN_PROGRESS
    h.clock.advance(DEAD_AFTER + 20)
    restarted.core.tick()
    done = restarted.core.migrations.get(migration.migration_id)
    assert done is not None
    assert done.status == SUCCESS
    keys = data(restarted, L, "sys/leases/lookup/other/creds/a/")["keys"]
    assert [f"other/creds/a/{k}" for k in keys] == ["other/" + lease_id.removeprefix("test/")]
    restarted.call(U, "sys/leases/revoke", {"lease_id": lease_id})
    assert len(restarted.engine.revoked) == 1
    restarted.close()


def test_a_mount_being_moved_cannot_be_moved_again_until_done(h: Harness) -> None:
    rename = h.core.expiration.rename_prefix

    def storage_lost(source: str, target: str) -> int:
        raise RuntimeError("storage went away")

    h.core.expiration.rename_prefix = storage_lost  # type: ignore[method-assign]
    moved = data(h, U, "sys/remount", {"from": "test", "to": "other"})  # its tail fails
    busy = r'a move of "test/" to "other/" is in progress \(migration_id'
    with pytest.raises(InvalidRequest, match=busy):
        h.ok(U, "sys/remount", {"from": "other", "to": "third"})
    with pytest.raises(InvalidRequest, match=busy):
        h.core.enable_mount(new_entry("test/sub/", "test"))  # its leases would be renamed too
    with pytest.raises(InvalidRequest, match=busy):
        h.call(D, "sys/mounts/other")  # the renames would outlive the revocations
    h.core.expiration.rename_prefix = rename  # type: ignore[method-assign]
    h.clock.advance(20)
    h.core.tick()  # its own node resumes a move whose work is not running here
    status = data(h, R, f"sys/remount/status/{moved['migration_id']}")["migration_info"]
    assert status["status"] == SUCCESS
    assert h.core.migrations.in_progress() == []
    h.ok(U, "sys/remount", {"from": "other", "to": "third"})


def test_a_move_whose_mount_went_meanwhile_fails_and_moves_nothing(h: Harness) -> None:
    table = h.core.mounts.change

    def disable_first(edit: object) -> None:
        h.core.mounts.change = table  # type: ignore[method-assign]
        table(lambda entries: entries.pop("test/"))  # disabled on another node meanwhile
        table(edit)  # type: ignore[arg-type]

    h.core.mounts.change = disable_first  # type: ignore[method-assign]
    with pytest.raises(InvalidRequest, match='no matching mount at "test/"'):
        h.ok(U, "sys/remount", {"from": "test", "to": "other"})
    assert h.core.migrations.in_progress() == []
    assert "other/" not in h.core.mounts.stored()
    [key] = h.core.barrier.list("core/remount/")
    failed = h.core.migrations.get(key)
    assert failed is not None
    assert failed.status == FAILURE
