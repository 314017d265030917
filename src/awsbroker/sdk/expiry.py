"""The expiry index: what must be revoked when, kept beside the storage in the physical store.

The lease manager schedules every lease (and every expiring token) here by key, and the expiry
worker claims what is due in batches. A claim is a lease on the work itself: entries claimed by
one process are skipped by the others until the claim runs out, so several processes on one
database share a backlog without revoking anything twice, and a process that dies mid-batch
only delays its entries by the claim's length.

Keys are lease IDs, token HMACs and job names: identifiers, never secrets. A job is claimed
like a lease, so on several processes sharing one database each run happens on one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from awsbroker.sdk.changes import ChangeCount
from awsbroker.sdk.storage import Storage

KIND_LEASE = "lease"
KIND_TOKEN = "token"  # noqa: S105 - a kind name, not a secret
# A backend's scheduled job (a rotation...). Its key is `job_key(mount, name)`: the `job:`
# prefix cannot begin a lease ID (mount paths have no `:`) nor a token HMAC (hex).
KIND_JOB = "job"
JOB_PREFIX = "job:"


def job_key(mount: str, name: str) -> str:
    return f"{JOB_PREFIX}{mount}{name}"


@dataclass(frozen=True)
class DueEntry:
    key: str
    kind: str
    mount: str
    expire_at: float
    attempts: int
    irrevocable: bool


class ExpiryIndex(Protocol):
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
        """Insert or replace the entry for `key`, dropping any claim on it."""
        ...

    def unschedule(self, key: str) -> None:
        """Forget `key`; a missing key is fine."""
        ...

    def claim(self, now: float, limit: int, claim_for: float) -> list[DueEntry]:
        """Atomically take up to `limit` entries due by `now` that nobody holds a claim on,
        earliest first, and hold them until `now + claim_for`."""
        ...

    def count(self, *, kind: str | None = None, irrevocable: bool | None = None) -> int: ...

    def count_by_mount(self, *, irrevocable: bool) -> dict[str, int]: ...

    def irrevocable_keys(self, limit: int) -> list[str]:
        """Keys of irrevocable entries, earliest first."""
        ...

    def jobs(self, mount: str) -> list[DueEntry]:
        """The job entries of the mount at `mount` (to move them with it, `sys/remount`)."""
        ...


class PhysicalStore(Storage, ExpiryIndex, ChangeCount, Protocol):
    """What a physical backend offers the core: key-value storage, the expiry index and the
    change count."""
