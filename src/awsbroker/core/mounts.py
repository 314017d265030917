"""The mount table: which backend type serves which path prefix, with its tunables.

The table is one record in barrier storage (`core/mounts`); it is small (one entry per mount).
Each change is a compare-and-set of the whole record against the table it edited, so two nodes
changing mounts at once cannot lose one another's change. `entries` is this node's view,
loaded at unseal and again whenever the change counter says the stored table may differ.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import change_record, get_record
from awsbroker.sdk.storage import Storage

MOUNT_TABLE_KEY = "core/mounts"
# The auth methods' table, kept apart as Vault keeps `core/auth`: its entries' paths start with
# `auth/`, and it holds the built-in token method's entry once that is tuned.
AUTH_TABLE_KEY = "core/auth"
AUTH_PREFIX = "auth/"
# Paths no secrets engine may take: they belong to the core.
RESERVED_PREFIXES = ("sys/", "auth/", "audit/", "cubbyhole/", "identity/")
_PATH = re.compile(r"^[A-Za-z0-9_.@-]+(?:/[A-Za-z0-9_.@-]+)*/$")


@dataclass
class MountConfig:
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    force_no_cache: bool = False
    audit_non_hmac_request_keys: list[str] = field(default_factory=list)
    audit_non_hmac_response_keys: list[str] = field(default_factory=list)
    listing_visibility: str = ""
    passthrough_request_headers: list[str] = field(default_factory=list)
    allowed_response_headers: list[str] = field(default_factory=list)


@dataclass
class MountEntry:
    path: str
    type: str
    accessor: str
    uuid: str
    description: str = ""
    config: MountConfig = field(default_factory=MountConfig)
    options: dict[str, str] = field(default_factory=dict)
    local: bool = False
    seal_wrap: bool = False
    external_entropy_access: bool = False

    @property
    def is_auth(self) -> bool:
        return self.path.startswith(AUTH_PREFIX)

    @property
    def storage_prefix(self) -> str:
        return f"auth/{self.uuid}/" if self.is_auth else f"logical/{self.uuid}/"

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> MountEntry:
        raw = dict(record)
        config = raw.pop("config", None)
        entry = cls(**raw)  # type: ignore[arg-type]
        entry.config = MountConfig(**cast(dict[str, object], config or {}))  # type: ignore[arg-type]
        return entry


def normalize_path(path: str) -> str:
    """A mount path as stored: no leading slash, one trailing slash. Raises on nonsense."""
    path = path.strip().strip("/")
    if not path:
        raise InvalidRequest("a mount path is required")
    path += "/"
    if not _PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        raise InvalidRequest(
            f"invalid mount path {path!r}: use letters, digits and - _ . @ separated by '/'"
        )
    return path


def new_entry(path: str, mount_type: str) -> MountEntry:
    """A new entry; an auth method's `path` starts with `auth/`, and its accessor is
    `auth_<type>_<8 hex>` as in Vault."""
    kind = "auth_" if path.startswith(AUTH_PREFIX) else ""
    return MountEntry(
        path=path,
        type=mount_type,
        accessor=f"{kind}{mount_type}_{secrets.token_hex(4)}",
        uuid=str(uuid.uuid4()),
    )


Entries = dict[str, MountEntry]


class MountTable:
    """The stored list of mounts, and this node's copy of it (`entries`)."""

    def __init__(self, storage: Storage, key: str = MOUNT_TABLE_KEY) -> None:
        self._storage = storage
        self._key = key
        self.entries: Entries = {}

    def load(self) -> None:
        self.entries = self.stored()

    def stored(self) -> Entries:
        """The table as stored now."""
        return _decode(get_record(self._storage, self._key))

    def change(self, edit: Callable[[Entries], None]) -> None:
        """Apply `edit` to the stored table and store the result, unless another writer changed
        the table meanwhile: then `edit` runs again, on theirs. `edit` may raise to abort."""

        def apply(record: JSONObject | None) -> JSONObject:
            entries = _decode(record)
            edit(entries)
            return _encode(entries)

        change_record(self._storage, self._key, apply)


def conflict(
    entries: Entries, path: str, reserved_prefixes: tuple[str, ...] = RESERVED_PREFIXES
) -> str | None:
    """The mount in `entries` that overlaps `path` (one is a prefix of the other), or the
    reserved prefix it falls under, if any."""
    for existing in entries:
        if existing.startswith(path) or path.startswith(existing):
            return existing
    for reserved in reserved_prefixes:
        if path.startswith(reserved) or reserved.startswith(path):
            return reserved
    return None


def _decode(record: JSONObject | None) -> Entries:
    entries = cast(list[JSONObject], (record or {}).get("entries", []))
    return {e.path: e for e in map(MountEntry.from_record, entries)}


def _encode(entries: Entries) -> JSONObject:
    return {"entries": cast(JSONObject, [e.to_record() for e in entries.values()])}
