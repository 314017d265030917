"""JSON encoding of storage records, for the core and every backend. One place, so every
record reads the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar, cast

from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.storage import Storage, update

T = TypeVar("T")


def dump(record: JSONObject) -> bytes:
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


def load(blob: bytes) -> JSONObject:
    try:
        value = json.loads(blob)
    except ValueError as exc:
        raise InternalError("corrupt record in storage") from exc
    if not isinstance(value, dict):
        raise InternalError("corrupt record in storage")
    return cast(JSONObject, value)


def get_record(storage: Storage, key: str) -> JSONObject | None:
    blob = storage.get(key)
    return None if blob is None else load(blob)


def put_record(storage: Storage, key: str, record: JSONObject) -> None:
    storage.put(key, dump(record))


def change_record(
    storage: Storage, key: str, edit: Callable[[JSONObject | None], JSONObject]
) -> None:
    """Read-modify-write one record without losing a concurrent writer's change (another node's
    included): `edit` gets the stored record (None: none) and returns the new one; it may run
    again on a newer record, and may raise to abort."""
    update(storage, key, lambda blob: dump(edit(None if blob is None else load(blob))))


def change_existing(
    storage: Storage,
    key: str,
    decode: Callable[[JSONObject], T],
    encode: Callable[[T], JSONObject],
    change: Callable[[T], None],
) -> T | None:
    """Apply `change` to the record at `key` and store it, by compare-and-set (again on a
    newer record if another writer got in first). None, and nothing written, if there is no
    record: it was deleted, perhaps by another node while this ran, and stays deleted. `change`
    may raise to abort, and may run more than once."""
    changed: list[T] = []

    def apply(blob: bytes | None) -> bytes | None:
        changed.clear()
        if blob is None:
            return None
        record = decode(load(blob))
        change(record)
        changed.append(record)
        return dump(encode(record))

    update(storage, key, apply)
    return changed[0] if changed else None
