"""Issue 19 section 1 (session revocation): the stored deny entries, one per revoked session.

    session-deny/id                         this mount's random id, in its policies' names
    session-deny/t/<target key>/<entry id>  a revoked session of one identity (role or user)
    session-deny/d/<target key>             an identity whose write failed (AWS may have
                                            applied it anyway): the periodic check rewrites it

An entry is written before the deny it stands for is put on AWS (write-ahead): the policy on
an identity is always rebuilt from the stored entries of that identity, so an entry that
reached storage is either in the policy or will be at the next rewrite, and one whose lease
was not revoked after all is dropped by the periodic check (session_revocation.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, TypeVar

from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from collections.abc import Callable

    from awsbroker.engines.aws.backend import AWSBackend

PREFIX = "session-deny/t/"
ID_KEY = "session-deny/id"
ROLE = "role"
USER = "user"


@dataclass(frozen=True)
class Target:
    """The IAM identity a deny is written on: a role (assumed_role) or the broker's user
    (federation_token); `via` is the role the broker assumes to write it (another account)."""

    kind: str  # ROLE or USER
    name: str
    account: str = ""
    via: str = ""

    @property
    def key(self) -> str:
        text = json.dumps([self.kind, self.account, self.name])
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class DenyEntry:
    target: Target
    userid: str  # aws:userid of the session: `<role id>:<session>` or `<account>:<name>`
    lease_id: str
    ends_at: float  # when the session would have ended anyway
    created_at: float
    boot: str
    issued_at: float = 0.0  # the lease's issue time (0: unknown, entries stored before it)

    @property
    def entry_id(self) -> str:
        return hashlib.sha256(self.lease_id.encode()).hexdigest()[:32]

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.target.key}/{self.entry_id}"

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> DenyEntry:
        return _decode(cls, blob)


_Record = TypeVar("_Record", "DenyEntry", "ManagedIntent")


def _decode(cls: type[_Record], blob: bytes) -> _Record:
    """A record of `cls` from its JSON. Fields a later version adds are left out, so that a
    node not yet upgraded reads it."""
    raw = json.loads(blob)
    target = Target(**raw.pop("target"))
    names = {f.name for f in fields(cls)}
    return cls(target=target, **{name: value for name, value in raw.items() if name in names})


def put(backend: AWSBackend, entry: DenyEntry) -> None:
    backend.storage.put(entry.key, entry.to_record())


def mark_dropping(backend: AWSBackend, entry: DenyEntry) -> DenyEntry | None:
    """`entry` marked as being dropped, if it is still the one stored (else None: a retry of
    the same revocation wrote it again, or another process dropped it). The mark is an end in
    the past (`ends_at` 0): no process lists the entry any more, so none writes it back while
    its removal is written, and every version reads it, as an entry to remove."""
    dropping = replace(entry, ends_at=0.0)
    return dropping if _replace_stored(backend, entry, dropping) else None


def delete(backend: AWSBackend, entry: DenyEntry) -> bool:
    """Remove `entry` if it is still the one stored (a retry of the same revocation may have
    written it again meanwhile: that one stays)."""
    return _replace_stored(backend, entry, None)


def _replace_stored(backend: AWSBackend, entry: DenyEntry, new: DenyEntry | None) -> bool:
    """Replace the stored record by `new` (None: delete it) if it still reads as `entry`, by
    compare-and-set on the bytes as stored (a record an earlier version wrote, without a later
    field, reads as `entry` but is not its bytes)."""
    stored = backend.storage.get(entry.key)
    if stored is None or DenyEntry.from_record(stored) != entry:
        return False
    return backend.storage.compare_and_set(
        entry.key, stored, None if new is None else new.to_record()
    )


def target_keys(backend: AWSBackend) -> list[str]:
    return [k.rstrip("/") for k in backend.storage.list(PREFIX) if k.endswith("/")]


def entries(backend: AWSBackend, target_key: str) -> list[DenyEntry]:
    found: list[DenyEntry] = []
    for child in backend.storage.list(f"{PREFIX}{target_key}/"):
        blob = backend.storage.get(f"{PREFIX}{target_key}/{child}")
        if blob is not None:
            found.append(DenyEntry.from_record(blob))
    return found


def mount_id(backend: AWSBackend) -> str:
    """This mount's id (kept across remounts): two mounts never write the same policy."""
    stored = backend.storage.get(ID_KEY)
    if stored is not None:
        return stored.decode()
    fresh = secrets.token_hex(4).encode()
    if backend.storage.compare_and_set(ID_KEY, None, fresh):
        return fresh.decode()
    again = backend.storage.get(ID_KEY)
    return (again or fresh).decode()


# The customer-managed policies a target's entries overflowed into (deny_policies.py):
#     session-deny/m/<target key>/<n>  the policy's ARN, as CreatePolicy answered it
MANAGED_PREFIX = "session-deny/m/"


def managed_arns(backend: AWSBackend, target: Target) -> dict[int, str]:
    base = f"{MANAGED_PREFIX}{target.key}/"
    found: dict[int, str] = {}
    for child in backend.storage.list(base):
        blob = backend.storage.get(base + child)
        if blob is not None and child.isdigit():
            found[int(child)] = blob.decode()
    return found


def put_managed(backend: AWSBackend, target: Target, index: int, arn: str) -> None:
    backend.storage.put(f"{MANAGED_PREFIX}{target.key}/{index}", arn.encode())


def delete_managed(backend: AWSBackend, target: Target, index: int) -> None:
    backend.storage.delete(f"{MANAGED_PREFIX}{target.key}/{index}")


# A managed policy about to be created (write-ahead): CreatePolicy's answer, the ARN, is
# recorded next (`put_managed`) and this cleared. A process that stops in between leaves it:
# the policy may exist on AWS, unrecorded; its name is deterministic, so the next write adopts
# it, and the periodic check removes one no longer needed (deny_policies.py).
#     session-deny/i/<target key>/<n>  the intent (ManagedIntent)
INTENT_PREFIX = "session-deny/i/"


@dataclass(frozen=True)
class ManagedIntent:
    target: Target
    index: int
    name: str
    boot: str
    created_at: float
    # Taken over by a periodic check to remove the policy (`claim_intent`): for CLAIM_LIFE
    # from `created_at`, while `boot` runs, no write stores another intent over it.
    claimed: bool = False

    @property
    def key(self) -> str:
        return f"{INTENT_PREFIX}{self.target.key}/{self.index}"

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> ManagedIntent:
        return _decode(cls, blob)


# How long a claim (`claim_intent`) holds off writes of the same policy while its claimer runs;
# the claimer removes the policy only within it.
CLAIM_LIFE = 5 * 60


def put_intent(
    backend: AWSBackend, intent: ManagedIntent, alive: Callable[[str], bool]
) -> bytes | None:
    """Store `intent` (replacing one left for the same policy, by compare-and-set); returns
    what was stored, or None when a live process (`alive(boot)`) claimed the policy less than
    CLAIM_LIFE ago: it may be removing it, and a write adopting it now would record a policy
    about to be deleted."""
    blob = intent.to_record()

    def change(stored: bytes | None) -> bytes | None:
        if stored is not None:
            old = ManagedIntent.from_record(stored)
            young = intent.created_at - old.created_at < CLAIM_LIFE
            if old.claimed and young and alive(old.boot):
                return stored  # left as it is
        return blob

    return blob if update(backend.storage, intent.key, change) == blob else None


def intent_is(backend: AWSBackend, intent: ManagedIntent, blob: bytes) -> bool:
    """Whether the stored intent for `intent`'s policy is still exactly `blob`."""
    return backend.storage.get(intent.key) == blob


def intents(backend: AWSBackend) -> list[tuple[ManagedIntent, bytes]]:
    """Every stored intent, with its record (to clear it by compare-and-set)."""
    found: list[tuple[ManagedIntent, bytes]] = []
    for folder in backend.storage.list(INTENT_PREFIX):
        if not folder.endswith("/"):
            continue
        for child in backend.storage.list(INTENT_PREFIX + folder):
            blob = backend.storage.get(INTENT_PREFIX + folder + child)
            if blob is not None:
                found.append((ManagedIntent.from_record(blob), blob))
    return found


def claim_intent(
    backend: AWSBackend, intent: ManagedIntent, blob: bytes, boot: str, now: float
) -> bytes | None:
    """Take over a stopped writer's intent (compare-and-set: None when it changed meanwhile,
    another process's now): the periodic check that finishes it is its writer from then on."""
    claimed = replace(intent, boot=boot, created_at=now, claimed=True).to_record()
    return claimed if backend.storage.compare_and_set(intent.key, blob, claimed) else None


def release_claim(backend: AWSBackend, intent: ManagedIntent, claimed: bytes) -> bool:
    """Give back a claim whose removal failed (if still `claimed`): writes may store their
    intent over it again, rather than fail until the claim runs out."""
    released = replace(ManagedIntent.from_record(claimed), claimed=False).to_record()
    return backend.storage.compare_and_set(intent.key, claimed, released)


def clear_intent(backend: AWSBackend, intent: ManagedIntent, blob: bytes) -> bool:
    """Clear the intent if it is still `blob` (another writer's, stored since, stays)."""
    return backend.storage.compare_and_set(intent.key, blob, None)


# A cut of every older session of one identity (`aws:TokenIssueTime`, session_revocation.py):
#     session-deny/c/<target key>  the latest cut of that identity (a later one covers it)
CUT_PREFIX = "session-deny/c/"


@dataclass(frozen=True)
class Cut:
    """Every session of `target` issued before `before` is denied until `ends_at` (when the
    longest of them would have ended anyway). Written before the deny (write-ahead); `done`
    once the leases it cuts are revoked too."""

    target: Target
    before: float
    ends_at: float
    created_at: float
    boot: str
    done: bool = False

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> Cut:
        raw = json.loads(blob)
        target = Target(**raw.pop("target"))
        return cls(target=target, **raw)


def get_cut(backend: AWSBackend, target_key: str) -> Cut | None:
    blob = backend.storage.get(CUT_PREFIX + target_key)
    return Cut.from_record(blob) if blob is not None else None


def put_cut(backend: AWSBackend, cut: Cut) -> tuple[Cut | None, Cut]:
    """Store `cut`, merged with the one stored (the later `before` and `ends_at` of the two;
    not done, since its leases are to be revoked). Returns the cut it replaced (None when
    none), to be put back should the new one not reach AWS, and what was stored."""
    key = CUT_PREFIX + cut.target.key
    while True:
        blob = backend.storage.get(key)
        merged = cut
        if blob is not None:
            old = Cut.from_record(blob)
            merged = Cut(
                target=cut.target,
                before=max(old.before, cut.before),
                ends_at=max(old.ends_at, cut.ends_at),
                created_at=cut.created_at,
                boot=cut.boot,
            )
        if backend.storage.compare_and_set(key, blob, merged.to_record()):
            return (Cut.from_record(blob) if blob is not None else None), merged


def replace_cut(backend: AWSBackend, old: Cut, new: Cut | None) -> bool:
    """Replace the stored cut if it is still `old` (compare-and-set)."""
    key = CUT_PREFIX + old.target.key
    return backend.storage.compare_and_set(
        key, old.to_record(), None if new is None else new.to_record()
    )


def cut_keys(backend: AWSBackend) -> list[str]:
    return list(backend.storage.list(CUT_PREFIX))


# An identity whose policies may differ from its records: a write failed, and its record was
# taken back, but AWS may have applied it (an answer lost to a timeout). With no record left
# the periodic check would never visit it; this one makes it, once, rewriting the policies from
# the records (none: they are removed).
#     session-deny/d/<target key>  {"target": ..., "nonce": ...}
DIRTY_PREFIX = "session-deny/d/"


def mark_dirty(backend: AWSBackend, target: Target) -> None:
    record = {"target": asdict(target), "nonce": secrets.token_hex(8)}
    backend.storage.put(DIRTY_PREFIX + target.key, json.dumps(record).encode())


def dirty(backend: AWSBackend) -> dict[str, tuple[Target, bytes]]:
    """The identities marked, by target key: the target and the record (to clear it)."""
    found: dict[str, tuple[Target, bytes]] = {}
    for key in backend.storage.list(DIRTY_PREFIX):
        blob = backend.storage.get(DIRTY_PREFIX + key)
        if blob is not None:
            found[key] = (Target(**json.loads(blob)["target"]), blob)
    return found


def clear_dirty(backend: AWSBackend, key: str, blob: bytes) -> None:
    """Clear the mark if it is still `blob` (a failure since marks it again)."""
    backend.storage.compare_and_set(DIRTY_PREFIX + key, blob, None)
