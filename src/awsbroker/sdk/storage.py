"""The storage contract every layer speaks: physical stores, the barrier and per-mount views.

Keys are `/`-separated paths. `list(prefix)` returns the immediate children under `prefix`
(which ends in `/` or is empty): leaf names, and folder names with a trailing `/`, sorted and
de-duplicated, exactly as Vault's `logical.Storage.List`.
"""

from __future__ import annotations

from typing import Protocol


class Storage(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> list[str]: ...


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

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.prefix + key
