"""HMAC-SHA256 of audited values, keyed by a device's salt.

`Salt.hash` is what `sys/audit-hash` answers; `hash_structure` replaces every string inside a
JSON value (through maps and lists, at any depth) by its hash, except the values of map keys
named in `ignored` (a mount's `audit_non_hmac_*_keys`). Numbers, booleans and nulls are left
as they are. The walk keeps its own stack, so no nesting makes it raise RecursionError (which
would fail the audit, and so the request).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Collection
from typing import cast

from awsbroker.sdk.logical import JSONValue

PREFIX = "hmac-sha256:"

Hasher = Callable[[str], str]


class Salt:
    """A device's HMAC key. The value is secret: it never leaves the barrier."""

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("an audit salt cannot be empty")
        self._key = value.encode()

    def hash(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return PREFIX + digest.hexdigest()

    def __repr__(self) -> str:
        return "Salt(<hidden>)"


def hash_structure(value: JSONValue, hasher: Hasher, ignored: Collection[str] = ()) -> JSONValue:
    """A copy of `value` with every string hashed, but for the values under `ignored` keys.

    As Vault: a string (or a list of strings) is left alone when the map key it sits under is
    ignored; a map under an ignored key is still walked, key by key."""
    root: list[JSONValue] = [None]
    # (value to copy, keep its strings as they are, the copy's container, the place in it)
    stack: list[tuple[JSONValue, bool, list[JSONValue] | dict[str, JSONValue], int | str]] = [
        (value, False, root, 0)
    ]
    while stack:
        item, keep, parent, place = stack.pop()
        copy: JSONValue
        if isinstance(item, str):
            copy = item if keep else hasher(item)
        elif isinstance(item, list):
            copy = [None] * len(item)
            stack.extend((child, keep, copy, i) for i, child in enumerate(item))
        elif isinstance(item, dict):
            copy = dict.fromkeys(item)  # the keys in their order, filled in below
            stack.extend((child, key in ignored, copy, key) for key, child in item.items())
        else:
            copy = item
        if isinstance(parent, list):
            parent[cast(int, place)] = copy
        else:
            parent[cast(str, place)] = copy
    return root[0]
