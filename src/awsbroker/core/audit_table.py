"""The audit table: which audit devices are enabled, persisted like the mount table.

    core/audit              the table (one record, rewritten on every change)
    audit/<uuid>/salt       each device's HMAC salt, made when it is enabled

Both live behind the barrier and are read at unseal; the devices are rebuilt from them, so a
device's hashes stay the same across restarts. Enabling a device writes a test entry first:
a device that cannot write is refused.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import cast

from awsbroker.audit.broker import AuditBroker
from awsbroker.audit.device import Device, SinkFactory, UnavailableSink
from awsbroker.audit.entry import FormatOptions, Formatter
from awsbroker.audit.hashing import Salt
from awsbroker.core.mounts import normalize_path
from awsbroker.core.records import get_record, put_record
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject
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
        record = get_record(self._storage, AUDIT_TABLE_KEY)
        entries = cast(list[JSONObject], (record or {}).get("entries", []))
        with self._lock:
            self.broker.clear()
            self.entries = {}
            for entry in map(AuditEntry.from_record, entries):
                self.entries[entry.path] = entry
                blob = self._storage.get(entry.salt_key)
                if blob is None:
                    # Lost: a new salt keeps the device recording (its hashes change).
                    log.error("audit device %s had no salt in storage; made a new one", entry.path)
                    blob = str(uuid.uuid4()).encode()
                    self._storage.put(entry.salt_key, blob)
                try:
                    device = self._device(entry, blob.decode())
                except InvalidRequest as exc:
                    # Still enabled, so still failing closed: every write reports why.
                    log.error("audit device %s cannot be set up: %s", entry.path, exc)
                    device = Device(entry.path, UnavailableSink(str(exc)), Formatter(Salt("-")))
                self.broker.add(device)

    def unload(self) -> None:
        with self._lock:
            self.broker.clear()
            self.entries = {}

    # ---- changes --------------------------------------------------------------------------------

    def enable(self, path: str, device_type: str, description: str, options: dict[str, str],
               local: bool) -> None:  # fmt: skip
        path = normalize_path(path)
        with self._lock:
            if path in self.entries:
                raise InvalidRequest(f"path already in use at {path}")
            if device_type not in self.sinks:
                raise InvalidRequest(f'unknown backend type: "{device_type}"')
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
            self.entries[path] = entry
            self._save()
            self.broker.add(device)

    def disable(self, path: str) -> None:
        path = normalize_path(path)
        with self._lock:
            entry = self.entries.pop(path, None)
            if entry is None:
                return
            self._save()
            self._storage.delete(entry.salt_key)
            self.broker.remove(path)

    def listing(self) -> dict[str, AuditEntry]:
        with self._lock:
            return dict(self.entries)

    def hash(self, path: str, value: str) -> str:
        device = self.broker.get(normalize_path(path))
        if device is None:
            raise InvalidRequest(f"unknown audit backend {path.strip('/')}")
        return device.hash(value)

    def _save(self) -> None:
        entries: list[JSONObject] = [e.to_record() for e in self.entries.values()]
        put_record(self._storage, AUDIT_TABLE_KEY, {"entries": cast(JSONObject, entries)})

    def _device(self, entry: AuditEntry, salt: str) -> Device:
        sink = self.sinks[entry.type](entry.options)
        formatter = Formatter(Salt(salt), FormatOptions.from_options(entry.options))
        return Device(entry.path, sink, formatter)
