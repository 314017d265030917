"""The keyring: every encryption term the barrier has used, plus the root key.

A term is a 32-byte AES-256 key with a number and an install time. The highest term is the
active one: new writes use it, older terms stay so that old values still decrypt.

A `Keyring` is immutable; `with_new_term` returns a new one, so the barrier can swap it
atomically. Neither class defines `==`, so key material is never compared in variable time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

KEY_SIZE = 32


@dataclass(frozen=True, eq=False)
class Key:
    """One term of the keyring."""

    term: int
    value: bytes = field(repr=False)
    install_time: float


@dataclass(frozen=True, eq=False)
class Keyring:
    """The root key and the terms, keyed by term number."""

    root_key: bytes = field(repr=False)
    keys: Mapping[int, Key]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a keyring needs at least one term")
        for term, key in self.keys.items():
            if term != key.term or term < 1:
                raise ValueError("keyring term numbers are inconsistent")
            if len(key.value) != KEY_SIZE:
                raise ValueError("keyring keys must be 32 bytes")
        if len(self.root_key) != KEY_SIZE:
            raise ValueError("the root key must be 32 bytes")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def new(cls, root_key: bytes, first_key: bytes, install_time: float) -> Keyring:
        """A keyring with term 1 only."""
        return cls(root_key=root_key, keys={1: Key(1, first_key, install_time)})

    @property
    def active_term(self) -> int:
        return max(self.keys)

    @property
    def active_key(self) -> Key:
        return self.keys[self.active_term]

    def term_key(self, term: int) -> Key | None:
        return self.keys.get(term)

    def with_new_term(self, value: bytes, install_time: float) -> Keyring:
        """A copy of this keyring with one more term, which becomes the active one."""
        term = self.active_term + 1
        return Keyring(self.root_key, {**self.keys, term: Key(term, value, install_time)})

    def serialize(self) -> bytes:
        """JSON bytes; key material is base64. The result is secret: encrypt it."""
        document = {
            "root_key": _b64(self.root_key),
            "keys": [
                {"term": k.term, "value": _b64(k.value), "install_time": k.install_time}
                for k in sorted(self.keys.values(), key=lambda k: k.term)
            ],
        }
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def deserialize(cls, data: bytes) -> Keyring:
        """Parse `serialize` output; raises ValueError (with no key material) if malformed."""
        try:
            document: Any = json.loads(data)
            keys = {
                int(entry["term"]): Key(
                    term=int(entry["term"]),
                    value=_unb64(entry["value"]),
                    install_time=float(entry["install_time"]),
                )
                for entry in document["keys"]
            }
            root_key = _unb64(document["root_key"])
        except (ValueError, TypeError, KeyError):
            raise ValueError("malformed keyring") from None
        return cls(root_key=root_key, keys=keys)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("invalid base64") from None
