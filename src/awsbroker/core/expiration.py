"""The lease manager: every secret handed out gets a lease that ends in revocation.

Lease records live behind the barrier, under `sys/expire/`:

    id/<lease id>                          the lease record
    token/<token hmac>/<hash of lease id>  the leases a token created, to revoke them with it
    moved                                  mounts moved by `sys/remount`: old path -> new path

A lease ID starts with its mount's path. When a mount moves (`sys/remount`, remount.py) its
leases are renamed to the new path (`rename_prefix`), and the move is remembered in `moved`:
a lease ID under the old path that is not stored any more is looked up under the new one, so
a client holding it (or an engine's write-ahead entry naming it) still finds the lease.

When each lease is due lives in the physical store's `ExpiryIndex`, where a database index
orders it. Nothing is loaded at unseal, and the worker's cost follows the leases due now, not
the number stored. The worker claims due entries in batches (several processes on one
PostgreSQL share a backlog without revoking anything twice) and revokes them with bounded
concurrency. A failed revocation is retried with exponential backoff and jitter; after
`max_attempts` failures the lease is irrevocable: listed, counted, retried daily, never dropped.

Several nodes may work on one lease at once (a renewal on one, the worker's revocation on
another): every change to a stored lease is a compare-and-set of its record (`_change`), so a
renewal never brings back a lease revoked meanwhile, and a failed attempt never undoes a
renewal.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from awsbroker.core.tokens import TokenEntry, TokenStore, random_id
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest, Sealed
from awsbroker.sdk.expiry import KIND_JOB, KIND_LEASE, KIND_TOKEN, DueEntry, ExpiryIndex, job_key
from awsbroker.sdk.framework import Backend
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response, Secret
from awsbroker.sdk.records import change_existing, change_record, dump, get_record, load, put_record
from awsbroker.sdk.storage import Storage
from awsbroker.sdk.telemetry import (
    LEASE_REVOCATION_FAILURES,
    LEASE_REVOCATIONS,
    NullTelemetry,
    Telemetry,
)

log = logging.getLogger("awsbroker.core.expiration")
IRREVOCABLE_RETRY = 24 * 3600
# A failed job is retried after 10 s, 20 s, 40 s ... at most 10 minutes apart, for ever.
JOB_RETRY_BASE = 10.0
JOB_RETRY_MAX = 600.0
# A job of a mount this process has not loaded (made on another process since this one was
# unsealed) waits this long; one whose mount is gone from the mount table is dropped.
JOB_MOUNT_WAIT = 60.0
MOVED_KEY = "moved"
MOVE_WORKERS = 8
# How many moves a lease ID is followed through (a mount moved A -> B -> C ...).
MAX_MOVES = 16


@dataclass(frozen=True)
class RevocationPolicy:
    """How hard the worker tries. Vault: 6 attempts, 2^n x 10 s, +-50 % jitter."""

    max_attempts: int = 6
    base_delay: float = 10.0
    max_delay: float = 3600.0
    jitter: float = 0.5
    batch: int = 200
    workers: int = 16
    claim_for: float = 300.0

    def delay(self, attempts: int, rand: Callable[[], float]) -> float:
        base = min(self.base_delay * float(2**attempts), self.max_delay)
        return base * (1 - self.jitter + 2 * self.jitter * rand())


@dataclass
class Lease:
    lease_id: str
    path: str
    mount_path: str
    token_hash: str
    secret_type: str
    internal_data: JSONObject
    issue_time: float
    expire_time: float
    max_expire_time: float
    renewable: bool
    ttl: int
    last_renewal: float = 0.0
    revoke_attempts: int = 0
    irrevocable: bool = False
    last_error: str = ""
    # Non-secret facts about the lease, shown by lookups: `reason` (Secret.reason) when one was
    # given. A field every build reads, so adding a key here is no storage format change.
    data: JSONObject = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """Why the credential was asked for ("" when not said)."""
        reason = self.data.get("reason")
        return reason if isinstance(reason, str) else ""

    def secret(self) -> Secret:
        return Secret(
            self.secret_type,
            self.ttl,
            0,
            self.renewable,
            dict(self.internal_data),
            self.issue_time,
            self.reason,
        )

    def to_record(self) -> JSONObject:
        # Every field holds a JSON value and the record is encoded at once: no deep copy.
        return cast(JSONObject, dict(vars(self)))

    @classmethod
    def from_record(cls, record: JSONObject) -> Lease:
        return cls(**record)  # type: ignore[arg-type]


def _check_renewable(lease: Lease, now: float) -> None:
    if lease.irrevocable:
        raise InvalidRequest("lease is expired and has failed previous revocation attempts")
    if lease.expire_time <= now:
        raise InvalidRequest("lease expired")
    if not lease.renewable:
        raise InvalidRequest("lease is not renewable")


def _short(lease_id: str) -> str:
    return hashlib.sha256(lease_id.encode()).hexdigest()[:40]


BackendLookup = Callable[[str], Backend | None]


class ExpirationManager:
    def __init__(
        self,
        storage: Storage,
        index: ExpiryIndex,
        clock: Clock,
        backend_for: BackendLookup,
        tokens: TokenStore,
        *,
        policy: RevocationPolicy | None = None,
        rand: Callable[[], float] = random.random,
        mount_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self._storage = storage
        self.index = index
        self.clock = clock
        self._backend_for = backend_for
        self._tokens = tokens
        self.policy = policy or RevocationPolicy()
        # The jitter source of the retry backoff; tests replace it to make delays exact.
        self.rand = rand
        # Whether a mount path is in the stored mount table (jobs of a mount not loaded here).
        self._mount_exists = mount_exists or (lambda mount: False)
        self._lock = threading.RLock()
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(self.policy.workers, thread_name_prefix="awsbroker-revoke")
        # Revocations and failed attempts are counted here; the core sets its metrics.
        self.telemetry: Telemetry = NullTelemetry()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # ---- registration -----------------------------------------------------------------------

    def register(
        self, request: Request, response: Response, default_ttl: int, max_ttl: int
    ) -> Lease:
        secret = response.secret
        assert secret is not None
        now = self.clock.now()
        ttl = secret.ttl or default_ttl
        cap = min(secret.max_ttl or max_ttl, max_ttl)
        if ttl > cap:
            response.add_warning(
                f'TTL of "{ttl}s" exceeded the effective max_ttl of "{cap}s"; '
                "TTL value is capped accordingly"
            )
            ttl = cap
        lease = Lease(
            lease_id=request.lease_id or f"{request.mount_point}{request.path}/{random_id(24)}",
            path=request.mount_point + request.path,
            mount_path=request.mount_point,
            token_hash=request.token_hash,
            secret_type=secret.secret_type,
            internal_data=dict(secret.internal_data),
            issue_time=now,
            expire_time=now + ttl,
            max_expire_time=now + cap,
            renewable=secret.renewable,
            ttl=ttl,
            data={"reason": secret.reason} if secret.reason else {},
        )
        # The index entry goes first: an entry without a record is dropped when due, while a
        # record without an entry would never expire.
        self._schedule(lease)
        put_record(self._storage, f"id/{lease.lease_id}", lease.to_record())
        if lease.token_hash:
            key = f"token/{lease.token_hash}/{_short(lease.lease_id)}"
            self._storage.put(key, lease.lease_id.encode())
        response.lease_id, response.lease_duration = lease.lease_id, ttl
        response.renewable = lease.renewable
        return lease

    def _schedule(self, lease: Lease) -> None:
        self.index.schedule(
            lease.lease_id,
            KIND_LEASE,
            lease.expire_time,
            mount=lease.mount_path,
            attempts=lease.revoke_attempts,
            irrevocable=lease.irrevocable,
        )

    def _change(self, lease_id: str, change: Callable[[Lease], None]) -> Lease | None:
        """Apply `change` to the stored lease, by compare-and-set (`records.change_existing`),
        and reschedule it if that changed it. None if the lease is gone. `change` may raise to
        abort, and may run more than once."""
        moved: list[bool] = []

        def tracked(lease: Lease) -> None:
            before = lease.to_record()
            change(lease)
            moved[:] = [lease.to_record() != before]

        key = f"id/{lease_id}"
        changed = change_existing(self._storage, key, Lease.from_record, Lease.to_record, tracked)
        if changed is not None and moved[0]:
            self._schedule(changed)
        return changed

    def _delete(self, lease: Lease) -> None:
        if lease.token_hash:
            self._storage.delete(f"token/{lease.token_hash}/{_short(lease.lease_id)}")
        self._storage.delete(f"id/{lease.lease_id}")
        self.index.unschedule(lease.lease_id)

    # ---- lookup -----------------------------------------------------------------------------

    def get(self, lease_id: str) -> Lease | None:
        """The lease stored under `lease_id`, or under the ID it has had since its mount moved
        (`moved`): the answer's `lease_id` is then the new one."""
        if not lease_id or ".." in lease_id.split("/") or lease_id.startswith("/"):
            return None
        for candidate in [lease_id, *self.moved_ids(lease_id)]:
            record = get_record(self._storage, f"id/{candidate}")
            if record is not None:
                return Lease.from_record(record)
        return None

    # ---- mounts that moved (`sys/remount`) ----------------------------------------------------

    def moves(self) -> list[tuple[str, str]]:
        """Every (old mount path, new mount path) remembered, oldest first."""
        record = get_record(self._storage, MOVED_KEY) or {}
        pairs = cast(list[list[str]], record.get("moves", []))
        return [(str(a), str(b)) for a, b in pairs]

    def remember_move(self, source: str, target: str) -> None:
        def add(record: JSONObject | None) -> JSONObject:
            pairs = cast(list[list[str]], (record or {}).get("moves", []))
            if [source, target] not in pairs:
                pairs = [*pairs, [source, target]]
            return {"moves": cast(JSONObject, pairs)}

        change_record(self._storage, MOVED_KEY, add)

    def moved_ids(self, lease_id: str) -> list[str]:
        """The IDs `lease_id` may have now that its mount moved (once or several times),
        nearest first. Read only when a lease ID is not found, so it costs nothing otherwise."""
        moves = self.moves()
        found: list[str] = []
        frontier = [lease_id]
        for _ in range(MAX_MOVES):
            step = [
                target + current[len(source) :]
                for current in frontier
                for source, target in moves
                if current.startswith(source)
            ]
            frontier = [i for i in step if i not in found and i != lease_id]
            if not frontier:
                break
            found += frontier
        return found

    def moved_mount(self, mount_path: str) -> str | None:
        """Where the mount that was at `mount_path` is now, if it moved (and moved on)."""
        current, moves = mount_path, dict(self.moves())
        for _ in range(MAX_MOVES):
            if current not in moves:
                break
            current = moves[current]
        return None if current == mount_path else current

    def rename_prefix(self, source: str, target: str) -> int:
        """Rename every lease under the mount path `source` to the same ID under `target`.
        Each rename is safe to interrupt and repeat: the new record is written (and scheduled)
        before the old one goes, the old one only if unchanged since it was copied (a renewal
        on another node meanwhile is copied again), and an existing new record is kept as the
        old one's newer copy. Returns how many leases moved."""

        def rename(old_id: str) -> bool:
            return self._rename(old_id, target + old_id[len(source) :], source, target)

        # Each rename is a few storage round trips: several at once (PostgreSQL serves them
        # in parallel; SQLite one after the other, as ever).
        with ThreadPoolExecutor(MOVE_WORKERS, thread_name_prefix="awsbroker-move") as pool:
            return sum(pool.map(rename, self._walk(source)))

    def _rename(self, old_id: str, new_id: str, source: str, target: str) -> bool:
        old_key = f"id/{old_id}"
        while True:
            blob = self._storage.get(old_key)
            if blob is None:
                return False
            lease = Lease.from_record(load(blob))
            lease.lease_id, lease.mount_path = new_id, target
            lease.path = target + lease.path[len(source) :]
            self._schedule(lease)
            self._storage.put(f"id/{new_id}", dump(lease.to_record()))
            if lease.token_hash:
                self._storage.put(f"token/{lease.token_hash}/{_short(new_id)}", new_id.encode())
            if self._storage.compare_and_set(old_key, blob, None):
                break
            # Changed meanwhile (renewed: copy it again), or gone (revoked on another node
            # between the copy and now: the copy is left, to expire and be revoked again,
            # which finds the secret gone; never is a lease lost).
        if lease.token_hash:
            self._storage.delete(f"token/{lease.token_hash}/{_short(old_id)}")
        self.index.unschedule(old_id)
        return True

    def move_jobs(self, source: str, target: str) -> int:
        """Move the mount's scheduled jobs to its new path: scheduled there before the old
        entry goes, so an interruption leaves the job at least once (a job runs idempotently:
        its backend reads its own state, sdk/framework.py)."""
        prefix = job_key(source, "")
        jobs = self.index.jobs(source)
        for job in jobs:
            name = job.key[len(prefix) :]
            self.index.schedule(
                job_key(target, name), KIND_JOB, job.expire_at, mount=target, attempts=job.attempts
            )
            self.index.unschedule(job.key)
        return len(jobs)

    def list_children(self, prefix: str) -> list[str]:
        return self._storage.list(f"id/{prefix}")

    def irrevocable(self, limit: int) -> list[Lease]:
        leases = map(self.get, self.index.irrevocable_keys(limit))
        return [lease for lease in leases if lease is not None]

    # ---- renewal ----------------------------------------------------------------------------

    def renew(self, lease_id: str, increment: int) -> tuple[Lease, Response]:
        lease = self.get(lease_id)
        if lease is None:
            raise InvalidRequest("lease not found")
        now = self.clock.now()
        _check_renewable(lease, now)
        backend = self._require_backend(lease)
        request = self._request(lease, Operation.UPDATE)
        response = backend.renew_secret(request, lease.secret()) or Response()
        proposed = response.secret.ttl if response.secret is not None else 0
        secret_max = response.secret.max_ttl if response.secret is not None else 0
        capped_from: list[int] = []

        def extend(current: Lease) -> None:
            # On the stored lease: one renewed or revoked meanwhile on another node counts.
            _check_renewable(current, now)
            # As Vault's core (`CalculateTTL`): the client's increment, else what the backend
            # proposes, else the lease's TTL; never past issue_time + the max TTL, which the
            # backend may lower (the AWS engine's `lease_max`).
            ttl = increment or proposed or current.ttl
            max_expire = current.max_expire_time
            if secret_max > 0:
                max_expire = min(max_expire, current.issue_time + secret_max)
            capped_from.clear()
            if now + ttl > max_expire:
                capped = int(max_expire - now)
                if capped <= 0:
                    raise InvalidRequest("past the max TTL, cannot renew")
                capped_from.append(ttl)
                ttl = capped
            current.ttl, current.expire_time, current.last_renewal = ttl, now + ttl, now

        renewed = self._change(lease.lease_id, extend)
        if renewed is None:
            raise InvalidRequest("lease not found")
        if capped_from:
            response.add_warning(
                f'TTL of "{capped_from[0]}s" exceeded the effective max_ttl of '
                f'"{renewed.ttl}s"; TTL value is capped accordingly'
            )
        response.lease_id, response.lease_duration = lease.lease_id, renewed.ttl
        response.renewable = True
        response.secret = None
        return renewed, response

    # ---- revocation -------------------------------------------------------------------------

    def revoke(self, lease_id: str, *, force: bool = False) -> bool:
        """Revoke now through the backend; on failure the lease stays (unless forced). False
        when there was no lease, or the backend's revocation revoked it itself (an engine
        cutting every session of an identity at once): it is counted once, by whoever
        deleted it."""
        lease = self.get(lease_id)
        if lease is None:
            return False
        try:
            backend = self._require_backend(lease)
            backend.revoke_secret(self._request(lease, Operation.DELETE), lease.secret())
        except Exception as exc:
            if not force:
                raise
            log.warning("revoke-force of %s ignored a backend error: %s", lease_id, exc)
        if self.get(lease.lease_id) is None:
            return False
        self._delete(lease)
        self.telemetry.count(LEASE_REVOCATIONS, {"mount": lease.mount_path})
        return True

    def revoke_prefix(self, prefix: str, *, force: bool = False) -> int:
        lease_ids = self._walk(prefix)
        for lease_id in lease_ids:
            self.revoke(lease_id, force=force)
        return len(lease_ids)

    def revoke_issued_before(
        self, prefix: str, before: float, which: Callable[[JSONObject], bool]
    ) -> list[str]:
        """Revoke every lease under `prefix` issued before `before` whose internal data `which`
        accepts (an engine cutting every older session of one AWS identity at once). Each is a
        `revoke`: on failure it stays, to be retried as any lease; the failures are raised
        together once every lease was tried."""
        revoked: list[str] = []
        failed: list[str] = []
        for lease_id in self._walk(prefix):
            lease = self.get(lease_id)
            if lease is None or lease.issue_time >= before or not which(lease.internal_data):
                continue
            try:
                if not self.revoke(lease.lease_id):
                    continue  # revoked meanwhile, by another node or within this revocation
            except Exception as exc:
                message = "; ".join(exc.messages) if isinstance(exc, BrokerError) else str(exc)
                failed.append(f"{lease.lease_id}: {message}")
                continue
            revoked.append(lease.lease_id)
        if failed:
            raise InternalError(f"{len(failed)} lease(s) could not be revoked: {failed[0]}")
        return revoked

    def _walk(self, prefix: str) -> list[str]:
        base = prefix if prefix.endswith("/") or not prefix else prefix + "/"
        found: list[str] = []
        for child in self._storage.list(f"id/{base}"):
            if child.endswith("/"):
                found.extend(self._walk(base + child))
            else:
                found.append(base + child)
        if prefix and not prefix.endswith("/") and self.get(prefix) is not None:
            found.append(prefix)
        return found

    def expire_now(self, lease_id: str) -> None:
        """Queue a lease for the worker (`sync=false`, a revoked token)."""
        now = self.clock.now()

        def expire(lease: Lease) -> None:
            lease.expire_time = min(lease.expire_time, now)

        if self._change(lease_id, expire) is None:
            moved = self.get(lease_id)  # an ID from before its mount moved (`moved_ids`)
            if moved is not None:
                self._change(moved.lease_id, expire)

    def expire_prefix_now(self, prefix: str) -> None:
        for lease_id in self._walk(prefix):
            self.expire_now(lease_id)

    def tidy(self) -> int:
        """Queue the leases of tokens that no longer exist, and drop token index entries whose
        lease is gone. Returns how many leases were queued."""
        queued = 0
        for token_dir in self._storage.list("token/"):
            token_hash = token_dir.rstrip("/")
            if self._tokens.get_by_hash(token_hash) is not None:
                continue
            for key in self._storage.list(f"token/{token_dir}"):
                blob = self._storage.get(f"token/{token_dir}{key}")
                if blob and self.get(blob.decode()) is not None:
                    self.expire_now(blob.decode())
                    queued += 1
                else:
                    self._storage.delete(f"token/{token_dir}{key}")
        return queued

    def token_leases(self, token_hash: str) -> list[Lease]:
        """The leases the token with this hash created (`sys/leases/self`)."""
        keys = self._storage.list(f"token/{token_hash}/")
        blobs = (self._storage.get(f"token/{token_hash}/{key}") for key in keys)
        leases = (self.get(blob.decode()) for blob in blobs if blob)
        return [lease for lease in leases if lease is not None]

    def expire_token_leases(self, token: TokenEntry) -> None:
        for key in self._storage.list(f"token/{token.hash}/"):
            blob = self._storage.get(f"token/{token.hash}/{key}")
            if blob:
                self.expire_now(blob.decode())

    # ---- the worker -------------------------------------------------------------------------

    def tick(self, *, wait: bool = True) -> int:
        """Claim due entries for the free workers and settle them. Returns how many were claimed.

        With `wait=False` (the server's ticker) it returns at once and the workers carry on, so
        one slow revocation never holds up the leases that fall due behind it; each tick tops
        the workers up. With `wait=True` (tests) it returns when the batch is settled.
        """
        with self._lock:
            free = self.policy.workers - self._in_flight
            if free <= 0:
                return 0
            now = self.clock.now()
            due = self.index.claim(now, min(self.policy.batch, free), self.policy.claim_for)
            self._in_flight += len(due)
        futures = [self._pool.submit(self._settle_counted, entry, now) for entry in due]
        if wait:
            for future in futures:
                future.result()
        return len(due)

    def _settle_counted(self, entry: DueEntry, now: float) -> None:
        try:
            self._settle(entry, now)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _settle(self, entry: DueEntry, now: float) -> None:
        try:
            if entry.kind == KIND_TOKEN:
                self._expire_token(entry.key)
            elif entry.kind == KIND_JOB:
                self._run_job(entry)
            else:
                self._expire_lease(entry.key, now)
        except Sealed:
            # Sealed while it ran: the claim runs out and the entry comes back after the
            # unseal, as below, but this is no failure to report.
            log.debug("settling expiry entry of kind %s: sealed meanwhile", entry.kind)
        except Exception:
            # Storage trouble: leave the claim to run out, and the entry comes back.
            log.exception("settling expiry entry of kind %s failed", entry.kind)

    # ---- jobs ---------------------------------------------------------------------------------

    def schedule_job(self, mount: str, name: str, at: float) -> None:
        self.index.schedule(job_key(mount, name), KIND_JOB, at, mount=mount)

    def cancel_job(self, mount: str, name: str) -> None:
        self.index.unschedule(job_key(mount, name))

    def _run_job(self, entry: DueEntry) -> None:
        """Run a claimed job: the claim keeps every other process off it meanwhile. Its
        answer is the next time (None: drop it); a failure is retried with backoff."""
        name = entry.key[len(job_key(entry.mount, "")) :]
        backend = self._backend_for(entry.mount)
        if backend is None:
            if self._mount_exists(entry.mount):
                self.index.schedule(
                    entry.key, KIND_JOB, self.clock.now() + JOB_MOUNT_WAIT, mount=entry.mount
                )
            else:
                self.index.unschedule(entry.key)
            return
        try:
            at = backend.run_job(name)
        except Exception as exc:
            attempts = entry.attempts + 1
            delay = min(JOB_RETRY_BASE * 2 ** (attempts - 1), JOB_RETRY_MAX)
            message = "; ".join(exc.messages) if isinstance(exc, BrokerError) else repr(exc)
            log.warning(
                "job %s of %s failed (attempt %d), retrying in %.0fs: %s",
                name, entry.mount, attempts, delay, message,
            )  # fmt: skip
            self.index.schedule(
                entry.key, KIND_JOB, self.clock.now() + delay, mount=entry.mount, attempts=attempts
            )
            return
        if at is None:
            self.index.unschedule(entry.key)
        else:
            self.index.schedule(entry.key, KIND_JOB, max(at, self.clock.now()), mount=entry.mount)

    def _expire_token(self, token_hash: str) -> None:
        # Looking an expired token up revokes it (and, through the hooks, queues its leases).
        token = self._tokens.get_by_hash(token_hash)
        if token is not None and token.expire_time:
            # Still alive (renewed since): put it back on time rather than leave it claimed.
            self.index.schedule(token_hash, KIND_TOKEN, token.expire_time)
        else:
            self.index.unschedule(token_hash)

    def _expire_lease(self, lease_id: str, now: float) -> None:
        lease = self.get(lease_id)
        if lease is None:
            self.index.unschedule(lease_id)
            return
        if lease.expire_time > now:
            self._schedule(lease)  # renewed since it was scheduled: put it back on time
            return
        try:
            self.revoke(lease_id)
        except Exception as exc:  # any failure of the backend is a failed attempt
            self._failed(lease, exc, now)

    def _failed(self, lease: Lease, exc: Exception, now: float) -> None:
        self.telemetry.count(LEASE_REVOCATION_FAILURES, {"mount": lease.mount_path})
        message = "; ".join(exc.messages) if isinstance(exc, BrokerError) else str(exc)
        error = (message or "unknown")[:240]
        delay = self.policy.delay(lease.revoke_attempts + 1, self.rand)

        def record(current: Lease) -> None:
            if current.expire_time > now:
                return  # renewed on another node while this attempt ran: not due any more
            current.revoke_attempts += 1
            current.last_error = error
            if current.revoke_attempts >= self.policy.max_attempts:
                if not current.irrevocable:
                    log.error("lease %s is irrevocable: %s", current.lease_id, error)
                current.irrevocable = True
                current.expire_time = now + IRREVOCABLE_RETRY
            else:
                current.expire_time = now + delay

        self._change(lease.lease_id, record)

    def _require_backend(self, lease: Lease) -> Backend:
        backend = self._backend_for(lease.mount_path)
        if backend is None:
            # A lease stored under a mount's old path after the move renamed the others (its
            # request was in flight meanwhile): its mount's backend is at the new path.
            moved = self.moved_mount(lease.mount_path)
            backend = self._backend_for(moved) if moved is not None else None
        if backend is None:
            raise InvalidRequest(f"no mount at {lease.mount_path} to revoke this lease with")
        return backend

    @staticmethod
    def _request(lease: Lease, operation: Operation) -> Request:
        relative = lease.path[len(lease.mount_path) :]
        return Request(operation=operation, path=relative, mount_point=lease.mount_path)
