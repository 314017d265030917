"""The audit broker: every entry to every enabled device, and the fail-closed rule.

With no device enabled nothing is logged and nothing can fail. With devices enabled, an entry
that no device could record raises `AuditFailed`, and the core refuses the request. A device
that fails is reported (log line, `awsbroker_audit_log_failures`) without the entry's content.
"""

from __future__ import annotations

import logging
import threading

from awsbroker.audit.device import Device
from awsbroker.audit.entry import REQUEST, RESPONSE, LogInput
from awsbroker.sdk.telemetry import AUDIT_FAILURES, NullTelemetry, Telemetry

log = logging.getLogger("awsbroker.audit")


class AuditFailed(Exception):
    """No enabled device could record an entry."""


class AuditBroker:
    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._lock = threading.Lock()
        # Replaced, never changed in place: a request logs to the devices of one moment.
        self._devices: dict[str, Device] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._devices)

    def devices(self) -> dict[str, Device]:
        return dict(self._devices)

    def get(self, path: str) -> Device | None:
        return self._devices.get(path)

    def add(self, device: Device) -> None:
        with self._lock:
            self._devices = {**self._devices, device.path: device}

    def remove(self, path: str) -> None:
        with self._lock:
            devices = dict(self._devices)
            device = devices.pop(path, None)
            self._devices = devices
        if device is not None:
            device.sink.close()

    def clear(self) -> None:
        with self._lock:
            devices, self._devices = self._devices, {}
        for device in devices.values():
            device.sink.close()

    def reopen(self) -> None:
        """Reopen every device's target at its next write (SIGHUP). Signal-handler safe."""
        for device in list(self._devices.values()):
            device.sink.reopen()

    def log_request(self, entry: LogInput) -> None:
        self._log(REQUEST, entry)

    def log_response(self, entry: LogInput) -> None:
        self._log(RESPONSE, entry)

    def _log(self, kind: str, entry: LogInput) -> None:
        devices = self._devices
        if not devices:
            return
        recorded = 0
        for path, device in devices.items():
            try:
                device.log(kind, entry)
                recorded += 1
            except Exception as exc:
                reason = str(exc) if isinstance(exc, OSError) else type(exc).__name__
                log.error("audit device %s could not record a %s entry: %s", path, kind, reason)
                self._telemetry.count(AUDIT_FAILURES, {"device": path, "type": kind})
        if not recorded:
            raise AuditFailed(f"no audit device could record the {kind} entry")
