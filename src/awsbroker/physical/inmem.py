"""In-memory storage: a dict behind a lock, plus the expiry index. Gone when the process exits."""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass

from awsbroker.sdk.expiry import KIND_JOB, DueEntry
from awsbroker.sdk.storage import children

# `list` is a method name in the class below, so annotations there use this alias.
DueEntries = list[DueEntry]

# (time, key, version): `time` is expire_at in the ready heap, claimed_until in the held one.
_HeapItem = tuple[float, str, int]

# Rebuild the heaps once stale items outnumber live entries by this factor (plus slack).
_COMPACT_FACTOR = 2
_COMPACT_SLACK = 64


@dataclass(slots=True)
class _Entry:
    kind: str
    mount: str
    expire_at: float
    attempts: int
    irrevocable: bool
    version: int
    claimed_until: float = 0.0


class InmemStorage:
    """Thread-safe dict-backed `Storage` and `ExpiryIndex` for tests and `-dev` servers.

    Expiry entries live in a dict by key; two heaps order them, with lazy deletion:
    `_ready` holds unclaimed (or once-claimed) entries by `(expire_at, key)`, `_held` holds
    claimed entries by `claimed_until`. Each `schedule` gives the entry a new version and
    pushes a fresh heap item; items whose version no longer matches the dict are stale and
    are dropped when popped (`unschedule` only deletes from the dict). So `claim` costs
    O((k + s) log n) for k entries taken, s stale items skipped and claims run out, never a
    pass over every entry. When stale items outnumber live ones, the heaps are rebuilt.
    `count`, `count_by_mount` and `irrevocable_keys` scan the dict: fine for tests and dev.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}
        self._entries: dict[str, _Entry] = {}
        self._ready: list[_HeapItem] = []
        self._held: list[_HeapItem] = []
        self._versions = itertools.count(1)
        self._changes = 0

    # ---- ExpiryIndex ----------------------------------------------------------------------

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
        with self._lock:
            version = next(self._versions)
            self._entries[key] = _Entry(kind, mount, expire_at, attempts, irrevocable, version)
            heapq.heappush(self._ready, (expire_at, key, version))
            self._maybe_compact()

    def unschedule(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._maybe_compact()

    def claim(self, now: float, limit: int, claim_for: float) -> DueEntries:
        taken: DueEntries = []
        with self._lock:
            # Claims that ran out by `now` make their entries claimable again.
            while self._held and self._held[0][0] <= now:
                _, key, version = heapq.heappop(self._held)
                entry = self._live(key, version)
                if entry is not None:
                    heapq.heappush(self._ready, (entry.expire_at, key, version))
            while self._ready and len(taken) < limit and self._ready[0][0] <= now:
                _, key, version = heapq.heappop(self._ready)
                entry = self._live(key, version)
                if entry is None:
                    continue
                if entry.claimed_until <= now:  # else: still held (`now` went backwards)
                    entry.claimed_until = now + claim_for
                    taken.append(_due(key, entry))
                heapq.heappush(self._held, (entry.claimed_until, key, version))
        return taken

    def count(self, *, kind: str | None = None, irrevocable: bool | None = None) -> int:
        with self._lock:
            return sum(
                1
                for e in self._entries.values()
                if (kind is None or e.kind == kind)
                and (irrevocable is None or e.irrevocable == irrevocable)
            )

    def count_by_mount(self, *, irrevocable: bool) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for e in self._entries.values():
                if e.irrevocable == irrevocable:
                    counts[e.mount] = counts.get(e.mount, 0) + 1
        return counts

    def irrevocable_keys(self, limit: int) -> list[str]:
        if limit < 1:
            return []
        with self._lock:
            found = [(e.expire_at, k) for k, e in self._entries.items() if e.irrevocable]
        return [key for _, key in heapq.nsmallest(limit, found)]

    def jobs(self, mount: str) -> DueEntries:
        with self._lock:
            return [
                _due(k, e)
                for k, e in self._entries.items()
                if e.kind == KIND_JOB and e.mount == mount
            ]

    def _live(self, key: str, version: int) -> _Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.version == version else None

    def _maybe_compact(self) -> None:
        """Drop stale heap items once they dominate. Caller holds the lock."""
        items = len(self._ready) + len(self._held)
        if items <= _COMPACT_FACTOR * len(self._entries) + _COMPACT_SLACK:
            return
        self._ready = []
        self._held = []
        for key, e in self._entries.items():
            if e.claimed_until > 0:
                self._held.append((e.claimed_until, key, e.version))
            else:
                self._ready.append((e.expire_at, key, e.version))
        heapq.heapify(self._ready)
        heapq.heapify(self._held)

    # ---- ChangeCount ----------------------------------------------------------------------

    def change_count(self) -> int:
        return self._changes

    def count_change(self) -> int:
        with self._lock:
            self._changes += 1
            return self._changes

    # ---- Storage --------------------------------------------------------------------------

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: bytes) -> None:
        value = bytes(value)
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
        return children(keys, prefix)

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        with self._lock:
            if self._data.get(key) != expected:
                return False
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = bytes(value)
            return True


def _due(key: str, e: _Entry) -> DueEntry:
    return DueEntry(key, e.kind, e.mount, e.expire_at, e.attempts, e.irrevocable)
