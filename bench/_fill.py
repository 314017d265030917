"""Fill a store with leases fast, with the bytes the real code would have written.

Writing a lease through the API costs three durable commits (SQLite `synchronous=FULL`), far
too slow for a million. Instead an in-process `Core` is initialised and unsealed on the store,
and the benchmark produces, per lease:

* `sys/expire/id/<lease id>`: the lease record, serialised as `ExpirationManager.register`
  serialises it (`records.dump(Lease.to_record())`, built here from a template) and encrypted
  by the unsealed barrier's own `put`, with the physical store's `put` captured instead of
  executed (`CapturingStore`): the envelope is the barrier's, for that path, under the active
  term;
* `sys/expire/token/<token hmac>/<sha256(lease id)[:40]>`: the lease ID, encrypted the same way;
* the expiry-index row `ExpiryIndex.schedule` writes: (lease id, "lease", "aws/", expire_at,
  0, 0, false);

and bulk-inserts the rows (`Target.insert`). `verify` checks the template against the real
`register` and that bulk-written leases read back through the real code.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.mounts import new_entry
from awsbroker.core.system.backend import SystemBackend
from awsbroker.engines.aws.backend import AWSBackend
from awsbroker.engines.aws.path_roles import load_role
from awsbroker.sdk.expiry import KIND_LEASE, DueEntry
from awsbroker.sdk.logical import JSONObject, Operation, Request, Response, Secret
from awsbroker.sdk.records import dump
from awsbroker.server.compose import engines
from bench._stores import ExpiryRow, KVRow, Physical, Target

MOUNT = "aws/"
ROLE = "bench"
LEASE_PREFIX = f"{MOUNT}creds/{ROLE}/"
SECRET_TYPE = "access_keys"
POLICY_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
# Bytes to `random_id`'s alphabet (letters and digits); the slight bias does not matter here.
_TO_ALNUM = bytes((string.ascii_letters + string.digits).encode()[b % 62] for b in range(256))
_DAY = 86400
# `list` is a method name in `CapturingStore`, so its annotations use this alias.
DueEntries = list[DueEntry]
Keys = list[str]


class CapturingStore:
    """The physical store, but `put` goes to `captured` instead while `capture` is on."""

    def __init__(self, inner: Physical) -> None:
        self.inner = inner
        self.capture = False
        self.captured: list[KVRow] = []

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def put(self, key: str, value: bytes) -> None:
        if self.capture:
            self.captured.append((key, value))
        else:
            self.inner.put(key, value)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str) -> list[str]:
        return self.inner.list(prefix)

    def schedule(
        self,
        key: str,
        kind: str,
        expire_at: float,
        *,
        mount: str = "",
        attempts: int = 0,
        irrevocable: bool = False,
    ) -> None:
        if self.capture:
            raise RuntimeError("the bulk fill writes expiry rows itself")
        self.inner.schedule(
            key, kind, expire_at, mount=mount, attempts=attempts, irrevocable=irrevocable
        )

    def unschedule(self, key: str) -> None:
        self.inner.unschedule(key)

    def claim(self, now: float, limit: int, claim_for: float) -> DueEntries:
        return self.inner.claim(now, limit, claim_for)

    def count(self, *, kind: str | None = None, irrevocable: bool | None = None) -> int:
        return self.inner.count(kind=kind, irrevocable=irrevocable)

    def count_by_mount(self, *, irrevocable: bool) -> dict[str, int]:
        return self.inner.count_by_mount(irrevocable=irrevocable)

    def irrevocable_keys(self, limit: int) -> Keys:
        return self.inner.irrevocable_keys(limit)

    def jobs(self, mount: str) -> DueEntries:
        return self.inner.jobs(mount)


def handle(
    core: Core, operation: Operation, path: str, data: JSONObject, token: str
) -> Response | None:
    return core.handle(Request(operation, path, data=data, client_token=token))


@dataclass
class Prepared:
    """An initialised, unsealed core on a target's store, with `aws/` and role `bench`."""

    target: Target
    physical: Physical
    store: CapturingStore
    core: Core
    unseal_key_hex: str
    root_token: str
    token_hash: str
    policy: JSONObject

    def close(self) -> None:
        self.core.close()
        self.physical.close()


def prepare(target: Target) -> Prepared:
    physical = target.open_physical()
    store = CapturingStore(physical)
    config = CoreConfig(storage_type=target.kind)
    core = Core(store, engines(), config, system_backend=SystemBackend)
    keys, root_token = core.initialize(1, 1)
    core.submit_unseal_key(keys[0])
    core.enable_mount(new_entry(MOUNT, "aws"))
    role: JSONObject = {"credential_type": "iam_user", "policy_document": POLICY_DOCUMENT}
    handle(core, Operation.UPDATE, f"{MOUNT}roles/{ROLE}", role, root_token)
    route = core.router.match(MOUNT)
    assert route is not None
    entry = load_role(cast(AWSBackend, route.backend), ROLE)
    assert entry is not None
    # What `iam_user._response` puts in the lease's internal data.
    policy = cast(JSONObject, json.loads(entry.to_record()))
    return Prepared(
        target, physical, store, core, keys[0].hex(), root_token, core.tokens.hash(root_token),
        policy,
    )  # fmt: skip


@dataclass(frozen=True)
class LeaseSpec:
    lease_id: str
    username: str
    issue_time: float
    expire_time: float
    max_expire_time: float
    ttl: int


@dataclass
class Batch:
    kv: list[KVRow] = field(default_factory=list)
    expiry: list[ExpiryRow] = field(default_factory=list)
    specs: list[LeaseSpec] = field(default_factory=list)


class LeaseFactory:
    """Lease rows for a prepared core, as `register` would have written them."""

    def __init__(self, prepared: Prepared, seed: int | None = None) -> None:
        self.prepared = prepared
        self.rng = random.Random(seed)
        policy = json.dumps(prepared.policy, separators=(",", ":"), sort_keys=True)
        # `records.dump(Lease.to_record())`: compact, keys sorted. `verify` checks it against
        # the real thing.
        self._template = (
            '{"data":{},"expire_time":%r,"internal_data":{"is_sts":false,"policy":'
            + policy.replace("%", "%%")
            + ',"username":"%s"},"irrevocable":false,"issue_time":%r,"last_error":"",'
            '"last_renewal":0.0,"lease_id":"%s","max_expire_time":%r,'
            f'"mount_path":"{MOUNT}","path":"{LEASE_PREFIX[:-1]}","renewable":true,'
            f'"revoke_attempts":0,"secret_type":"{SECRET_TYPE}",'
            f'"token_hash":"{prepared.token_hash}","ttl":%d}}'
        )
        self.max_lease_ttl = prepared.core.config.max_lease_ttl

    def _rand(self, n: int) -> str:
        return self.rng.randbytes(n).translate(_TO_ALNUM).decode()

    def spec(
        self,
        now: float,
        expire_in: Callable[[random.Random], float],
        issued_ago: tuple[float, float] = (0.0, 3600.0),
    ) -> LeaseSpec:
        """A lease issued `issued_ago` seconds ago (a range), due `expire_in(rng)` from now."""
        issue = now - self.rng.uniform(*issued_ago)
        ttl = max(1, round(expire_in(self.rng) + (now - issue)))
        return LeaseSpec(
            lease_id=LEASE_PREFIX + self._rand(24),
            username=f"vault-root-{ROLE}-{int(issue)}-{self._rand(20)}",
            issue_time=issue,
            expire_time=issue + ttl,
            max_expire_time=issue + self.max_lease_ttl,
            ttl=ttl,
        )

    def record(self, s: LeaseSpec) -> bytes:
        return (
            self._template
            % (s.expire_time, s.username, s.issue_time, s.lease_id, s.max_expire_time, s.ttl)
        ).encode()

    def token_key(self, lease_id: str) -> str:
        short = hashlib.sha256(lease_id.encode()).hexdigest()[:40]
        return f"sys/expire/token/{self.prepared.token_hash}/{short}"

    @staticmethod
    def expiry_row(s: LeaseSpec) -> ExpiryRow:
        return (s.lease_id, KIND_LEASE, MOUNT, s.expire_time, 0.0, 0, False)

    def batch(self, specs: list[LeaseSpec]) -> Batch:
        """Encrypt the rows of `specs` with the barrier (captured, not written)."""
        store, barrier = self.prepared.store, self.prepared.core.barrier
        out = Batch(specs=specs)
        store.captured = out.kv
        store.capture = True
        try:
            for s in specs:
                barrier.put(f"sys/expire/id/{s.lease_id}", self.record(s))
                barrier.put(self.token_key(s.lease_id), s.lease_id.encode())
        finally:
            store.capture = False
            store.captured = []
        out.expiry = [self.expiry_row(s) for s in specs]
        return out


def future(rng: random.Random) -> float:
    """Due somewhere in the next one to seven days: nothing is revoked while measuring."""
    return rng.uniform(_DAY, 7 * _DAY)


@dataclass
class FillResult:
    leases: int
    seconds: float
    encrypt_seconds: float
    samples: list[LeaseSpec]


def fill(prepared: Prepared, n: int, *, chunk: int = 50_000, samples: int = 50) -> FillResult:
    """Bulk-write `n` future leases; keep `samples` of them, spread over the fill, to look up.

    Where the target allows it, chunk k+1 is encrypted while chunk k is inserted by a second
    thread.
    """
    factory = LeaseFactory(prepared)
    every = max(1, n // samples) if n else 1
    kept: list[LeaseSpec] = []
    started = time.perf_counter()
    encrypt = 0.0
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="bench-insert") as inserter:
        pending: Future[None] | None = None
        while done < n:
            size = min(chunk, n - done)
            t0 = time.perf_counter()
            now = time.time()
            specs = [factory.spec(now, future) for _ in range(size)]
            batch = factory.batch(specs)
            encrypt += time.perf_counter() - t0
            if pending is not None:
                pending.result()
            pending = inserter.submit(prepared.target.insert, batch.kv, batch.expiry)
            if not prepared.target.overlap_inserts:
                pending.result()
            picked = [s for i, s in enumerate(specs, start=done) if i % every == 0]
            kept += picked[: samples - len(kept)]
            done += size
        if pending is not None:
            pending.result()
    prepared.target.finish_fill()
    return FillResult(n, time.perf_counter() - started, encrypt, kept)


class FillMismatch(AssertionError):
    pass


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise FillMismatch(what)


def verify(target: Target, n: int = 200) -> dict[str, object]:
    """Prove on a small store that the bulk fill writes what the real code writes.

    1. A lease registered through the real `ExpirationManager.register` decrypts to exactly
       the bytes the template produces for the same fields; its token entry and expiry row
       are the ones the factory makes.
    2. `n` bulk-written leases read back through `core.expiration.get`, `sys/leases/lookup`
       (via `Core.handle`) and `list_children`; their token entries decrypt to their IDs; and
       `claim` at a time after their expiry returns every one of them, as the real entry.
    """
    prepared = prepare(target)
    try:
        core, factory = prepared.core, LeaseFactory(prepared)
        # 1. the real path, written to the store normally
        username = f"vault-root-{ROLE}-{int(time.time())}-{'x' * 20}"
        request = Request(
            Operation.READ, "creds/" + ROLE, mount_point=MOUNT, token_hash=prepared.token_hash
        )
        secret = Secret(
            SECRET_TYPE,
            ttl=2 * _DAY,
            renewable=True,
            internal_data={"username": username, "policy": prepared.policy, "is_sts": False},
        )
        real = core.expiration.register(
            request,
            Response(secret=secret),
            core.config.default_lease_ttl,
            core.config.max_lease_ttl,
        )
        spec = LeaseSpec(
            real.lease_id, username, real.issue_time, real.expire_time, real.max_expire_time,
            real.ttl,
        )  # fmt: skip
        stored = core.barrier.get(f"sys/expire/id/{real.lease_id}")
        _check(stored == factory.record(spec), "the lease record template differs from register")
        _check(stored == dump(real.to_record()), "register did not store Lease.to_record()")
        token_value = core.barrier.get(factory.token_key(real.lease_id))
        _check(token_value == real.lease_id.encode(), "the token index key or value differs")
        _check(
            target.expiry_row(real.lease_id) == factory.expiry_row(spec),
            f"expiry row differs: {target.expiry_row(real.lease_id)} vs {factory.expiry_row(spec)}",
        )
        # 2. bulk-written leases through the real code
        now = time.time()
        specs = [factory.spec(now, future) for _ in range(n)]
        batch = factory.batch(specs)
        target.insert(batch.kv, batch.expiry)
        listed = set(core.expiration.list_children(LEASE_PREFIX))
        tokens = core.barrier.list(f"sys/expire/token/{prepared.token_hash}/")
        _check(len(tokens) == n + 1, f"{len(tokens)} token entries, wanted {n + 1}")
        for s in specs:
            lease = core.expiration.get(s.lease_id)
            _check(lease is not None, f"bulk lease {s.lease_id} not readable")
            assert lease is not None
            _check(dump(lease.to_record()) == factory.record(s), "bulk lease reads back changed")
            _check(lease.internal_data.get("username") == s.username, "username lost")
            _check(s.lease_id[len(LEASE_PREFIX) :] in listed, "bulk lease not listed")
            _check(
                core.barrier.get(factory.token_key(s.lease_id)) == s.lease_id.encode(),
                "bulk token entry does not decrypt to the lease ID",
            )
        looked = handle(
            core, Operation.UPDATE, "sys/leases/lookup", {"lease_id": specs[0].lease_id},
            prepared.root_token,
        )  # fmt: skip
        _check(
            looked is not None and (looked.data or {}).get("id") == specs[0].lease_id,
            "sys/leases/lookup failed",
        )
        latest = max(s.expire_time for s in specs)
        claimed = {e.key: e for e in prepared.store.claim(latest + 1, 10 * n, 60.0)}
        for s in [*specs, spec]:
            entry = claimed.get(s.lease_id)
            _check(entry is not None, f"index entry of {s.lease_id} not claimable")
            assert entry is not None
            _check(
                entry == DueEntry(s.lease_id, KIND_LEASE, MOUNT, s.expire_time, 0, False),
                f"claimed entry differs: {entry}",
            )
        return {"leases_checked": n + 1, "storage": target.kind, "ok": True}
    finally:
        prepared.close()
        target.cleanup()
