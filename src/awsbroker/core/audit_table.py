"""The audit table: which audit devices are enabled, persisted like the mount table.

    core/audit              the table (one record, rewritten on every change)
    audit/<uuid>/salt       each device's HMAC salt, made when it is enabled

Both live behind the barrier. `load` (at unseal, and whenever the change counter says the
table may have changed on any node) builds the devices of the stored table, keeping those
already open, so a device's hashes stay the same across restarts and nodes. Changes to the
table are compare-and-set, so two nodes enabling devices at once keep both. Enabling a device
writes a test entry first: a device that cannot write is refused. A device that another node
enabled but this node cannot open (a file path it may not write) stays enabled here and fails
closed: every audited request on this node fails until it is fixed.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.audit.broker import AuditBroker
from awsbroker.audit.device import Device, SinkFactory, UnavailableSink
from awsbroker.audit.entry import FormatOptions, Formatter
from awsbroker.audit.hashing import Salt
from awsbroker.core.mounts import normalize_path
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject
from awsbroker.sdk.records import change_record, get_record
from awsbroker.sdk.storage import Storage

log = logging.getLogger("awsbroker.core.audit")
AUDIT_TABLE_KEY = "core/audit"


@dataclass
class AuditEntry:
    path: str
    type: str
    uuid: str
    description: str = ""
    options: dict[str, str] = field(default_factory=dict)
    local: bool = False

    @property
    def salt_key(self) -> str:
        return f"audit/{self.uuid}/salt"

    def to_record(self) -> JSONObject:
        return cast(JSONObject, asdict(self))

    @classmethod
    def from_record(cls, record: JSONObject) -> AuditEntry:
        return cls(**record)  # type: ignore[arg-type]

    def info(self) -> JSONObject:
        """As `sys/audit` lists it."""
        return {
            "type": self.type,
            "description": self.description,
            "options": cast(JSONObject, dict(self.options)),
            "local": self.local,
            "path": self.path,
        }


class AuditTable:
    """The enabled devices: the persisted table, and the broker that writes to them."""

    def __init__(
        self,
        storage: Storage,
        sinks: Mapping[str, SinkFactory],
        clock: Clock,
        broker: AuditBroker,
    ) -> None:
        self._storage = storage
        self.sinks = dict(sinks)
        self._clock = clock
        self.broker = broker
        self.entries: dict[str, AuditEntry] = {}
        self._lock = threading.Lock()

    # ---- unseal and seal ----------------------------------------------------------------------

    def load(self) -> None:
        stored = _decode(get_record(self._storage, AUDIT_TABLE_KEY))
        with self._lock:
            for path, entry in self.entries.items():
                if stored.get(path) != entry:
                    self.broker.remove(path)
            for path, entry in stored.items():
                device = self.broker.get(path)
                # A device this node could not set up is tried again at every load.
                if self.entries.get(path) != entry or device is None or device.unavailable:
                    self.broker.add(self._stored_device(entry))
            self.entries = stored

    def _stored_device(self, entry: AuditEntry) -> Device:
        blob = self._storage.get(entry.salt_key)
        if blob is None:
            # Lost: a new salt keeps the device recording (its hashes change). If several nodes
            # find it lost at once, one salt wins and the others use it.
            log.error("audit device %s had no salt in storage; made a new one", entry.path)
            self._storage.compare_and_set(entry.salt_key, None, str(uuid.uuid4()).encode())
            blob = self._storage.get(entry.salt_key) or b"-"
        try:
            return self._device(entry, blob.decode())
        except InvalidRequest as exc:
            # Still enabled, so still failing closed: every write reports why.
            log.error("audit device %s cannot be set up: %s", entry.path, exc)
            return Device(entry.path, UnavailableSink(str(exc)), Formatter(Salt("-")))

    def unload(self) -> None:
        with self._lock:
            self.broker.clear()
            self.entries = {}

    # ---- changes --------------------------------------------------------------------------------

    def enable(self, path: str, device_type: str, description: str, options: dict[str, str],
               local: bool) -> None:  # fmt: skip
        path = normalize_path(path)
        if device_type not in self.sinks:
            raise InvalidRequest(f'unknown backend type: "{device_type}"')
        if path in self._stored():
            raise InvalidRequest(f"path already in use at {path}")
        entry = AuditEntry(path, device_type, str(uuid.uuid4()), description, options, local)
        salt = str(uuid.uuid4())
        device = self._device(entry, salt)
        try:
            device.test(self._clock.now())
        except Exception as exc:
            device.sink.close()
            reason = str(exc) if isinstance(exc, OSError) else type(exc).__name__
            raise InvalidRequest(f"audit backend failed test message: {reason}") from None
        self._storage.put(entry.salt_key, salt.encode())

        def add(entries: Entries) -> None:
            if path in entries:
                raise InvalidRequest(f"path already in use at {path}")
            entries[path] = entry

        try:
            self._change(add)
        except Exception:
            device.sink.close()
            self._storage.delete(entry.salt_key)
            raise
        with self._lock:
            self.broker.add(device)
            self.entries = {**self.entries, path: entry}

    def disable(self, path: str) -> bool:
        """Disable the device at `path`; False if there was none."""
        path = normalize_path(path)
        removed: list[AuditEntry] = []

        def remove(entries: Entries) -> None:
            removed[:] = [entries.pop(path)] if path in entries else []

        self._change(remove)
        if not removed:
            return False
        self._storage.delete(removed[0].salt_key)
        with self._lock:
            self.broker.remove(path)
            self.entries = {p: e for p, e in self.entries.items() if p != path}
        return True

    def listing(self) -> dict[str, AuditEntry]:
        with self._lock:
            return dict(self.entries)

    def hash(self, path: str, value: str) -> str:
        device = self.broker.get(normalize_path(path))
        if device is None:
            raise InvalidRequest(f"unknown audit backend {path.strip('/')}")
        return device.hash(value)

    def _stored(self) -> Entries:
        return _decode(get_record(self._storage, AUDIT_TABLE_KEY))

    def _change(self, edit: Callable[[Entries], None]) -> None:
        """Apply `edit` to the stored table, by compare-and-set (again on a newer table)."""

        def apply(record: JSONObject | None) -> JSONObject:
            entries = _decode(record)
            edit(entries)
            return _encode(entries)

        change_record(self._storage, AUDIT_TABLE_KEY, apply)

    def _device(self, entry: AuditEntry, salt: str) -> Device:
        factory = self.sinks.get(entry.type)
        if factory is None:  # enabled by a node whose build has a device type this one lacks
            raise InvalidRequest(f'unknown backend type: "{entry.type}"')
        sink = factory(entry.options)
        formatter = Formatter(Salt(salt), FormatOptions.from_options(entry.options))
        return Device(entry.path, sink, formatter)


Entries = dict[str, AuditEntry]


def _decode(record: JSONObject | None) -> Entries:
    entries = cast(list[JSONObject], (record or {}).get("entries", []))
    return {e.path: e for e in map(AuditEntry.from_record, entries)}


def _encode(entries: Entries) -> JSONObject:
    return {"entries": cast(JSONObject, [e.to_record() for e in entries.values()])}
