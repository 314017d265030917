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

from awsbroker.core.records import change_record, get_record
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.storage import Storage

MOUNT_TABLE_KEY = "core/mounts"
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
    def storage_prefix(self) -> str:
        return f"logical/{self.uuid}/"

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
    return MountEntry(
        path=path,
        type=mount_type,
        accessor=f"{mount_type}_{secrets.token_hex(4)}",
        uuid=str(uuid.uuid4()),
    )


Entries = dict[str, MountEntry]


class MountTable:
    """The stored list of mounts, and this node's copy of it (`entries`)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.entries: Entries = {}

    def load(self) -> None:
        self.entries = self.stored()

    def stored(self) -> Entries:
        """The table as stored now."""
        return _decode(get_record(self._storage, MOUNT_TABLE_KEY))

    def change(self, edit: Callable[[Entries], None]) -> None:
        """Apply `edit` to the stored table and store the result, unless another writer changed
        the table meanwhile: then `edit` runs again, on theirs. `edit` may raise to abort."""

        def apply(record: JSONObject | None) -> JSONObject:
            entries = _decode(record)
            edit(entries)
            return _encode(entries)

        change_record(self._storage, MOUNT_TABLE_KEY, apply)


def conflict(entries: Entries, path: str) -> str | None:
    """The mount in `entries` that overlaps `path` (one is a prefix of the other), or the
    reserved prefix it falls under, if any."""
    for existing in entries:
        if existing.startswith(path) or path.startswith(existing):
            return existing
    for reserved in RESERVED_PREFIXES:
        if path.startswith(reserved) or reserved.startswith(path):
            return reserved
    return None


def _decode(record: JSONObject | None) -> Entries:
    entries = cast(list[JSONObject], (record or {}).get("entries", []))
    return {e.path: e for e in map(MountEntry.from_record, entries)}


def _encode(entries: Entries) -> JSONObject:
    return {"entries": cast(JSONObject, [e.to_record() for e in entries.values()])}
