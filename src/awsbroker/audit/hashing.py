"""HMAC-SHA256 of audited values, keyed by a device's salt.

`Salt.hash` is what `sys/audit-hash` answers; `hash_structure` replaces every string inside a
JSON value (recursively, through maps and lists) by its hash, except the values of map keys
named in `ignored` (a mount's `audit_non_hmac_*_keys`), at any depth. Numbers, booleans and
nulls are left as they are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Collection

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
    return _walk(value, hasher, ignored, keep=False)


def _walk(value: JSONValue, hasher: Hasher, ignored: Collection[str], keep: bool) -> JSONValue:
    if isinstance(value, str):
        return value if keep else hasher(value)
    if isinstance(value, list):
        return [_walk(item, hasher, ignored, keep) for item in value]
    if isinstance(value, dict):
        return {key: _walk(item, hasher, ignored, key in ignored) for key, item in value.items()}
    return value
