"""JSON encoding of the core's storage records. One place, so every record reads the same way."""

from __future__ import annotations

import json
from typing import TypeVar, cast

from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.storage import Storage

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
