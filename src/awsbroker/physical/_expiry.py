"""Helpers shared by the stores' `ExpiryIndex` halves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsbroker.sdk.expiry import DueEntry

# Column order of every SELECT/RETURNING that feeds `due_entry` (spelled out in sqlite.py).
DUE_COLUMNS = "key, kind, mount, expire_at, attempts, irrevocable"


def due_entry(row: Sequence[Any]) -> DueEntry:
    """A `DueEntry` from a row in `DUE_COLUMNS` order, with driver types normalised."""
    key, kind, mount, expire_at, attempts, irrevocable = row
    return DueEntry(
        key=str(key),
        kind=str(kind),
        mount=str(mount),
        expire_at=float(expire_at),
        attempts=int(attempts),
        irrevocable=bool(irrevocable),
    )


def earliest_first(entries: list[DueEntry]) -> list[DueEntry]:
    """Sort by `(expire_at, key)`: the one order every store claims and lists in."""
    return sorted(entries, key=lambda e: (e.expire_at, e.key))
