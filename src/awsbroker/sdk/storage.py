"""The storage contract every layer speaks: physical stores, the barrier and per-mount views.

Keys are `/`-separated paths. `list(prefix)` returns the immediate children under `prefix`
(which ends in `/` or is empty): leaf names, and folder names with a trailing `/`, sorted and
de-duplicated, exactly as Vault's `logical.Storage.List`.

`compare_and_set` is the one atomic read-modify-write: where two processes (or threads) may
change the same record, they read it, compute the new value, and write it only if it is still
what they read (`update` is that loop). Plain `put` is last-writer-wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from awsbroker.sdk.errors import StorageUnavailable

# `update` gives up after this many lost races in a row: it would take that many other writers
# winning each time, which is contention no record here should see.
UPDATE_ATTEMPTS = 1000


class Storage(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        """Atomically: if the value at `key` is `expected` (None: there is none), replace it
        with `value` (None: delete it) and answer True; otherwise change nothing and answer
        False. Atomic across every process sharing the store."""
        ...


Change = Callable[[bytes | None], bytes | None]


def update(storage: Storage, key: str, change: Change) -> bytes | None:
    """Read-modify-write `key` without losing another writer's update: `change` gets the stored
    value (None: none) and returns the new one (None: delete); the result is written only if
    the value is still the one read, else `change` runs again on the newer value. `change` may
    raise to abort (nothing is written) and must have no other effect, since it may run more
    than once. Returns the value written (or left, when `change` returned it unchanged)."""
    for _ in range(UPDATE_ATTEMPTS):
        current = storage.get(key)
        new = change(current)
        if new == current or storage.compare_and_set(key, current, new):
            return new
    raise StorageUnavailable(f"too many concurrent writers of {key!r}; try again")


def children(keys: list[str], prefix: str) -> list[str]:
    """Fold full keys under `prefix` into Vault's list answer (leaves and `folder/` entries)."""
    out: set[str] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if not rest:
            continue
        slash = rest.find("/")
        out.add(rest if slash < 0 else rest[: slash + 1])
    return sorted(out)


def list_recursive(storage: Storage, prefix: str = "") -> list[str]:
    """Every leaf key under `prefix`, depth first. For tools and tests, not hot paths."""
    found: list[str] = []
    for child in storage.list(prefix):
        if child.endswith("/"):
            found.extend(list_recursive(storage, prefix + child))
        else:
            found.append(prefix + child)
    return found


class View:
    """A chroot of a storage under a prefix: the backend behind it sees only its own slice."""

    def __init__(self, inner: Storage, prefix: str) -> None:
        if prefix and not prefix.endswith("/"):
            raise ValueError("a view prefix ends in '/'")
        self._inner = inner
        self.prefix = prefix

    def get(self, key: str) -> bytes | None:
        return self._inner.get(self._key(key))

    def put(self, key: str, value: bytes) -> None:
        self._inner.put(self._key(key), value)

    def delete(self, key: str) -> None:
        self._inner.delete(self._key(key))

    def list(self, prefix: str) -> list[str]:
        return self._inner.list(self._key(prefix))

    def compare_and_set(self, key: str, expected: bytes | None, value: bytes | None) -> bool:
        return self._inner.compare_and_set(self._key(key), expected, value)

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key
