"""Moving a mount to another path (`sys/remount`), with its leases, jobs and tokens.

A mount's storage is keyed by its uuid (`logical/<uuid>/`, `auth/<uuid>/`), so its roles,
configuration, static roles and the AWS engine's rotation state do not move. What carries the
path is moved, in this order, each step safe to repeat:

1. the intent, stored first (`core/remount/<migration id>`, status `in-progress`, with the
   mount's uuid and the node's boot ID);
2. the table entry: one compare-and-set of the mount (or auth) table takes it from the old
   path to the new one, and the change is counted, so every node routes the new path (and
   404s the old one) at its next request (views.py);
3. the move is remembered by the lease manager, so a lease ID under the old path (a client's,
   or an in-flight engine's write-ahead entry's) is looked up under the new one;
4. the leases are renamed to the new path (expiration.py `rename_prefix`), and the mount's
   jobs in the expiry index follow it (`move_jobs`);
5. for an auth method, its tokens' creation paths (and so their lease IDs) follow it;
6. the leases are renamed once more, for a request that was in flight on another node and
   stored one under the old path meanwhile; the status becomes `success`. For
   `STRAGGLER_GRACE` afterwards the background tick renames again what such a request stored
   late (an IAM user takes seconds to make), unless a mount has taken the old path since.

Steps 1 to 3 are done before `sys/remount` answers; 4 to 6 in a background thread (as Vault
queues the move), since a mount with thousands of leases takes seconds to move. Meanwhile a
lease still under the old path is found, renewed and revoked through its old ID, and the worker
revokes it with the mount's backend at the new path (expiration.py).

A node that dies in the middle leaves the intent `in-progress`: once its heartbeat is stale
(nodes.py), any node's background tick (or its unseal) carries the move on from the start,
which is how a crash ends in the finished move. If step 2 cannot be made any more (the mount
was disabled, or its new path taken, meanwhile) nothing else was done, and the status is
`failure`.

Vault revokes a mount's leases when it moves it; we move them (docs/compatibility.md).
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from awsbroker.core.mounts import AUTH_PREFIX, RESERVED_PREFIXES, Entries, conflict
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import get_record, put_record
from awsbroker.sdk.storage import Storage

if TYPE_CHECKING:
    from awsbroker.core.core import Core

log = logging.getLogger("awsbroker.core.remount")
PREFIX = "core/remount/"
# One empty key per move not finished yet (or finished less than STRAGGLER_GRACE ago), so
# the background tick lists only those.
PENDING = PREFIX + "pending/"
# How long after a move a lease may still be stored under the old path: a request that was
# routed there before the move and was still running (an IAM user takes seconds to make).
STRAGGLER_GRACE = 600.0
IN_PROGRESS, SUCCESS, FAILURE = "in-progress", "success", "failure"
TOKEN_MOUNT = "auth/token/"  # noqa: S105 - a mount path, not a secret
# Mounts that never move, and paths no mount may move to, in Vault's words.
FIXED = ("sys/", "cubbyhole/", "identity/", TOKEN_MOUNT)
QUEUED = (
    "Mount move has been queued. Progress will be reported in the server log, "
    "tagged with the returned migration_id"
)


@dataclass
class Migration:
    migration_id: str
    source: str
    target: str
    uuid: str
    auth: bool
    boot: str
    started: float
    status: str = IN_PROGRESS
    error: str = ""
    finished: float = 0.0

    def to_record(self) -> JSONObject:
        return cast(JSONObject, dict(vars(self)))

    @classmethod
    def from_record(cls, record: JSONObject) -> Migration:
        return cls(**record)  # type: ignore[arg-type]


class Migrations:
    """The stored migrations, by ID (`core/remount/<id>`), and those this process is running.

    `background` runs the long part of a move (renaming leases and tokens) off the request's
    thread, as Vault queues it: a mount with thousands of leases takes seconds to move, and the
    client polls `sys/remount/status/<id>`. Tests replace it to run the move inline."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.running: set[str] = set()
        self.background: Callable[[Callable[[], None]], None] = _in_thread

    def get(self, migration_id: str) -> Migration | None:
        if not migration_id or "/" in migration_id:
            return None
        record = get_record(self._storage, PREFIX + migration_id)
        return None if record is None else Migration.from_record(record)

    def put(self, migration: Migration) -> None:
        """Store the migration; the pending marker is made before an `in-progress` record
        and dropped after a failed one, so no unfinished move goes unlisted. A successful
        move keeps it for `STRAGGLER_GRACE` (`sweep`)."""
        marker = PENDING + migration.migration_id
        if migration.status == IN_PROGRESS:
            self._storage.put(marker, b"")
        put_record(self._storage, PREFIX + migration.migration_id, migration.to_record())
        if migration.status == FAILURE:
            self._storage.delete(marker)

    def pending(self) -> list[Migration]:
        found = (self.get(key) for key in self._storage.list(PENDING))
        return [m for m in found if m is not None]

    def in_progress(self) -> list[Migration]:
        return [m for m in self.pending() if m.status == IN_PROGRESS]

    def forget_pending(self, migration: Migration) -> None:
        self._storage.delete(PENDING + migration.migration_id)


def refuse_while_moving(core: Core, *paths: str) -> None:
    """Refuse a change to a path that overlaps a move still renaming leases (its old path or
    its new one): a mount enabled at the old path, or a second move, would have its leases
    renamed with the moved mount's, and a mount disabled meanwhile would miss some."""
    for other in core.migrations.in_progress():
        moving = {other.source: None, other.target: None}
        for path in paths:
            if conflict(moving, path, ()) is not None:  # type: ignore[arg-type]
                raise InvalidRequest(
                    f'a move of "{other.source}" to "{other.target}" is in progress '
                    f"(migration_id {other.migration_id}); retry when its status is success"
                )


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="awsbroker-remount", daemon=True).start()


def check(source: str, target: str, entries: Entries, auth: bool) -> None:
    """Refuse a move as Vault does, in its order and words (source and target normalized)."""
    if source in FIXED or source == AUTH_PREFIX:
        raise InvalidRequest(f'cannot remount "{source}"')
    if auth and not target.startswith(AUTH_PREFIX):
        raise InvalidRequest(f'cannot remount auth mount to non-auth mount "{target}"')
    if auth and (target.startswith(TOKEN_MOUNT) or target == AUTH_PREFIX):
        raise InvalidRequest(f'cannot remount to destination "{target}"')
    if not auth and conflict({}, target) is not None:
        raise InvalidRequest(f"cannot remount to destination {target}")
    if source not in entries:
        raise InvalidRequest(f'no matching mount at "{source}"')
    taken = conflict(entries, target, (TOKEN_MOUNT,) if auth else RESERVED_PREFIXES)
    if taken is not None:
        raise InvalidRequest(f'path already in use at "{taken}"')


def start(core: Core, source: str, target: str) -> Migration:
    """Check and record a move, and make it in the mount table (every node routes the new
    path when this returns); the leases and tokens follow in the background (`finish`).
    Raises InvalidRequest for a move Vault refuses."""
    auth = source.startswith(AUTH_PREFIX)
    table = core.auth_mounts if auth else core.mounts
    entries = table.stored()
    check(source, target, entries, auth)
    refuse_while_moving(core, source, target)
    migration = Migration(
        migration_id=str(uuid.uuid4()),
        source=source,
        target=target,
        uuid=entries[source].uuid,
        auth=auth,
        boot=core.nodes.boot_id,
        started=core.config.clock.now(),
    )
    core.migrations.put(migration)
    core.migrations.running.add(migration.migration_id)
    try:
        moved = move_entry(core, migration)
    except BaseException:
        core.migrations.running.discard(migration.migration_id)
        raise
    if not moved:
        core.migrations.running.discard(migration.migration_id)
        raise InvalidRequest(migration.error)
    core.migrations.background(lambda: _finish_logged(core, migration))
    return migration


def run(core: Core, migration: Migration) -> None:
    """Carry `migration` out from the start (every step is idempotent); store its outcome."""
    if move_entry(core, migration):
        finish(core, migration)


def _finish_logged(core: Core, migration: Migration) -> None:
    try:
        finish(core, migration)
    except Exception:
        # Left `in-progress`: this node's background tick (or another's) carries it on.
        log.exception("mount move %s stopped; it will be resumed", migration.migration_id)
    finally:
        core.migrations.running.discard(migration.migration_id)


def move_entry(core: Core, migration: Migration) -> bool:
    """Steps 2 and 3: the table entry, and the move remembered. False (the migration stored
    as failed) if the table no longer allows it."""
    m = migration
    log.info("moving mount %s to %s (migration_id=%s)", m.source, m.target, m.migration_id)
    table = core.auth_mounts if m.auth else core.mounts

    def move(entries: Entries) -> None:
        current = entries.get(m.target)
        if current is not None and current.uuid == m.uuid:
            return  # moved already (this is a resumption)
        entry = entries.get(m.source)
        if entry is None or entry.uuid != m.uuid:
            raise InvalidRequest(f'no matching mount at "{m.source}"')
        check(m.source, m.target, entries, m.auth)
        del entries[m.source]
        entry.path = m.target
        entries[m.target] = entry

    try:
        table.change(move)
    except InvalidRequest as exc:
        m.status, m.error = FAILURE, "; ".join(exc.messages)
        core.migrations.put(m)
        log.warning("mount move %s failed: %s", m.migration_id, m.error)
        return False
    core.views.changed()
    core.expiration.remember_move(m.source, m.target)
    return True


def finish(core: Core, migration: Migration) -> None:
    """Steps 4 to 6: leases, jobs and tokens follow the mount; the status becomes success."""
    m, expiration = migration, core.expiration
    leases = expiration.rename_prefix(m.source, m.target)
    jobs = expiration.move_jobs(m.source, m.target)
    tokens = core.tokens.move_mount(m.uuid, m.source, m.target) if m.auth else 0
    leases += expiration.rename_prefix(m.source, m.target)
    m.status, m.finished = SUCCESS, core.config.clock.now()
    core.migrations.put(m)
    log.info(
        "moved mount %s to %s with %d leases, %d jobs, %d tokens (migration_id=%s)",
        m.source, m.target, leases, jobs, tokens, m.migration_id,
    )  # fmt: skip


def resume(core: Core) -> None:
    """Carry on (in the background) every move left unfinished: by a node that died in the
    middle of it (its heartbeat is stale), or by this one (its background work stopped: sealed,
    storage lost). For `STRAGGLER_GRACE` after a move, rename again what requests that were in
    flight meanwhile stored under the old path (unless a mount took the old path since)."""
    migrations = core.migrations
    for migration in migrations.pending():
        if migration.status == SUCCESS:
            _sweep(core, migration)
            continue
        if migration.migration_id in migrations.running:
            continue
        if migration.boot != core.nodes.boot_id and core.nodes.alive(migration.boot):
            continue
        log.warning("resuming mount move %s", migration.migration_id)
        migration.boot = core.nodes.boot_id
        migrations.put(migration)
        migrations.running.add(migration.migration_id)
        migrations.background(functools.partial(_resume_logged, core, migration))


def _sweep(core: Core, migration: Migration) -> None:
    if core.config.clock.now() - migration.finished > STRAGGLER_GRACE:
        core.migrations.forget_pending(migration)
        return
    mounted = {**core.mounts.entries, **core.auth_mounts.entries}
    if conflict(mounted, migration.source, ()) is not None:
        return  # a mount took (or overlaps) the old path since: its leases are its own
    moved = core.expiration.rename_prefix(migration.source, migration.target)
    if moved:
        log.info(
            "moved %d leases stored under %s after its move (migration_id=%s)",
            moved, migration.source, migration.migration_id,
        )  # fmt: skip


def _resume_logged(core: Core, migration: Migration) -> None:
    try:
        run(core, migration)
    except Exception:
        log.exception("resuming mount move %s failed; retrying", migration.migration_id)
    finally:
        core.migrations.running.discard(migration.migration_id)
