"""The lease manager: every secret handed out gets a lease that ends in revocation.

Leases live behind the barrier, under `sys/expire/`:

    id/<lease id>                         the lease record
    token/<token hmac>/<lease hmac>       the leases a token created, for revoking with it
    due/<expiry minute>/<lease hmac>      the expiry index: a bucket per minute

Nothing is loaded at unseal. The expiry tick lists only the buckets that are due, so its cost
follows the leases expiring now, not the number of leases stored. Revoking a token (or its
expiry) marks its leases due at once; the tick then revokes them, so a failing AWS call delays
a revocation but never drops it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.core.records import get_record, put_record
from awsbroker.core.tokens import TokenEntry, random_id
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import BrokerError, InvalidRequest
from awsbroker.sdk.framework import Backend
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response, Secret
from awsbroker.sdk.storage import Storage

BUCKET = 60


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
    last_error: str = ""
    data: JSONObject = field(default_factory=dict)

    def secret(self) -> Secret:
        return Secret(
            self.secret_type, self.ttl, 0, self.renewable, dict(self.internal_data), self.issue_time
        )

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> Lease:
        return cls(**record)  # type: ignore[arg-type]


def _hash(lease_id: str) -> str:
    return hashlib.sha256(lease_id.encode()).hexdigest()[:40]


def _bucket(expire_time: float) -> str:
    return f"{int(expire_time) // BUCKET:012d}"


BackendLookup = Callable[[str], Backend | None]


class ExpirationManager:
    def __init__(self, storage: Storage, clock: Clock, backend_for: BackendLookup) -> None:
        self._storage = storage
        self.clock = clock
        self._backend_for = backend_for
        self._lock = threading.RLock()

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
            lease_id=f"{request.mount_point}{request.path}/{random_id(24)}",
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
        )
        self._save(lease)
        if lease.token_hash:
            self._storage.put(
                f"token/{lease.token_hash}/{_hash(lease.lease_id)}", lease.lease_id.encode()
            )
        response.lease_id, response.lease_duration = lease.lease_id, ttl
        response.renewable = lease.renewable
        return lease

    def _save(self, lease: Lease, old_expire: float | None = None) -> None:
        put_record(self._storage, f"id/{lease.lease_id}", lease.to_record())
        key = _hash(lease.lease_id)
        if old_expire is not None and _bucket(old_expire) != _bucket(lease.expire_time):
            self._storage.delete(f"due/{_bucket(old_expire)}/{key}")
        self._storage.put(f"due/{_bucket(lease.expire_time)}/{key}", lease.lease_id.encode())

    def _delete(self, lease: Lease) -> None:
        key = _hash(lease.lease_id)
        if lease.token_hash:
            self._storage.delete(f"token/{lease.token_hash}/{key}")
        self._storage.delete(f"due/{_bucket(lease.expire_time)}/{key}")
        self._storage.delete(f"id/{lease.lease_id}")

    # ---- lookup -----------------------------------------------------------------------------

    def get(self, lease_id: str) -> Lease | None:
        if not lease_id or ".." in lease_id.split("/"):
            return None
        record = get_record(self._storage, f"id/{lease_id}")
        return None if record is None else Lease.from_record(record)

    def list_children(self, prefix: str) -> list[str]:
        return self._storage.list(f"id/{prefix}")

    # ---- renewal ----------------------------------------------------------------------------

    def renew(self, lease_id: str, increment: int) -> tuple[Lease, Response]:
        with self._lock:
            lease = self.get(lease_id)
            if lease is None:
                raise InvalidRequest("lease not found")
            now = self.clock.now()
            if lease.expire_time <= now:
                raise InvalidRequest("lease expired")
            if not lease.renewable:
                raise InvalidRequest("lease is not renewable")
            backend = self._require_backend(lease)
            response = backend.renew_secret(self._request(lease, Operation.UPDATE), lease.secret())
            response = response or Response()
            proposed = response.secret.ttl if response.secret is not None else lease.ttl
            ttl = increment or proposed or lease.ttl
            if now + ttl > lease.max_expire_time:
                ttl = int(lease.max_expire_time - now)
                if ttl <= 0:
                    raise InvalidRequest("past the max TTL, cannot renew")
                response.add_warning("TTL of the lease was capped at its max TTL")
            old = lease.expire_time
            lease.ttl, lease.expire_time, lease.last_renewal = ttl, now + ttl, now
            self._save(lease, old_expire=old)
            response.lease_id, response.lease_duration, response.renewable = (
                lease.lease_id,
                ttl,
                True,
            )
            response.secret = None
            return lease, response

    # ---- revocation -------------------------------------------------------------------------

    def revoke(self, lease_id: str, *, force: bool = False) -> None:
        """Revoke now through the backend; on failure the lease stays (unless forced)."""
        with self._lock:
            lease = self.get(lease_id)
            if lease is None:
                return
            try:
                backend = self._require_backend(lease)
                backend.revoke_secret(self._request(lease, Operation.DELETE), lease.secret())
            except BrokerError:
                if not force:
                    raise
            self._delete(lease)

    def revoke_prefix(self, prefix: str, *, force: bool = False) -> int:
        count = 0
        for lease_id in self._walk(prefix):
            self.revoke(lease_id, force=force)
            count += 1
        return count

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
        """Queue a lease for revocation by the next tick (`sync=false`)."""
        with self._lock:
            lease = self.get(lease_id)
            now = self.clock.now()
            if lease is not None and lease.expire_time > now:
                old = lease.expire_time
                lease.expire_time = now
                self._save(lease, old_expire=old)

    def expire_prefix_now(self, prefix: str) -> None:
        for lease_id in self._walk(prefix):
            self.expire_now(lease_id)

    def expire_token_leases(self, token: TokenEntry) -> None:
        """Mark every lease of a token due now; the tick revokes them with retries."""
        for key in self._storage.list(f"token/{token.hash}/"):
            blob = self._storage.get(f"token/{token.hash}/{key}")
            if blob:
                self.expire_now(blob.decode())

    def tick(self, limit: int = 1000) -> int:
        """Revoke up to `limit` due leases. Returns how many were revoked."""
        now = self.clock.now()
        done = 0
        for bucket in self._storage.list("due/"):
            if int(bucket.rstrip("/")) * BUCKET > now or done >= limit:
                break
            for key in self._storage.list(f"due/{bucket}"):
                if done >= limit:
                    break
                done += self._expire_one(f"due/{bucket}{key}", now)
        return done

    def _expire_one(self, index_key: str, now: float) -> int:
        blob = self._storage.get(index_key)
        lease = self.get(blob.decode()) if blob else None
        if lease is None:
            self._storage.delete(index_key)
            return 0
        if lease.expire_time > now:
            return 0
        try:
            self.revoke(lease.lease_id)
        except BrokerError as exc:
            lease.revoke_attempts += 1
            lease.last_error = "; ".join(exc.messages)[:240]
            old = lease.expire_time
            lease.expire_time = now + min(2**lease.revoke_attempts * 10, 3600)
            self._save(lease, old_expire=old)
            return 0
        return 1

    def _require_backend(self, lease: Lease) -> Backend:
        backend = self._backend_for(lease.mount_path)
        if backend is None:
            raise InvalidRequest(f"no mount at {lease.mount_path} to revoke this lease with")
        return backend

    @staticmethod
    def _request(lease: Lease, operation: Operation) -> Request:
        relative = lease.path[len(lease.mount_path) :]
        return Request(operation=operation, path=relative, mount_point=lease.mount_path)
