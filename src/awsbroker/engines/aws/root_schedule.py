"""Automated rotation of the root key, from config/root's `rotation_period`, or
`rotation_schedule` (cron, UTC) with `rotation_window`, unless `disable_automated_rotation`.

The schedule is durable: `rotation/root` holds when the key was last rotated, when it is next
due and the settings that time was computed from, and the core's job `root` fires then, on one
process of however many share the storage. Writing config/root reschedules only when a rotation
setting changed; disabling (or clearing both settings) cancels the job. A run that fires late
rotates at once, except past a schedule's `rotation_window`, where Vault waits for the next
scheduled time and so do we. A failed rotation is retried by the core with backoff.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws import path_config_root
from awsbroker.engines.aws.schedule import next_time, rfc3339
from awsbroker.sdk.logical import JSONObject, JSONValue

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.path_config_root import RootConfig

log = logging.getLogger("awsbroker.engines.aws.root_schedule")
STATE_KEY = "rotation/root"
JOB = "root"


@dataclass
class RootSchedule:
    last: float | None = None
    next: float | None = None
    settings: list[JSONValue] = field(default_factory=list)

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> RootSchedule:
        return cls(**json.loads(blob))


def settings_of(config: RootConfig) -> list[JSONValue]:
    return [
        config.rotation_period,
        config.rotation_schedule,
        config.rotation_window,
        config.disable_automated_rotation,
    ]


def next_after(config: RootConfig, after: float) -> float | None:
    if config.disable_automated_rotation:
        return None
    return next_time(config.rotation_period, config.rotation_schedule, after)


def load(backend: AWSBackend) -> RootSchedule:
    blob = backend.storage.get(STATE_KEY)
    return RootSchedule() if blob is None else RootSchedule.from_record(blob)


def _save(backend: AWSBackend, state: RootSchedule) -> None:
    backend.storage.put(STATE_KEY, state.to_record())
    if state.next is None:
        backend.system.cancel_job(JOB)
    else:
        backend.system.schedule_job(JOB, state.next)


def configured(backend: AWSBackend, config: RootConfig) -> None:
    """After a config/root write: (re)schedule when a rotation setting changed."""
    state = load(backend)
    if state.settings == settings_of(config):
        return
    state.settings = settings_of(config)
    state.next = next_after(config, backend.system.clock.now())
    _save(backend, state)


def rotated(backend: AWSBackend, at: float) -> None:
    """After a rotation (requested, scheduled, or finished by recovery)."""
    state = load(backend)
    config = path_config_root.load(backend)
    state.last = at
    if config is not None:
        state.settings = settings_of(config)
        state.next = next_after(config, max(at, backend.system.clock.now()))
    _save(backend, state)


def rotation_info(backend: AWSBackend) -> JSONObject:
    """Vault's fields for the rotation times (`RotationInfoResponseParams`)."""
    state = load(backend)
    return {
        "last_vault_rotation": None if state.last is None else rfc3339(state.last),
        "next_vault_rotation": None if state.next is None else rfc3339(state.next),
    }


def run(backend: AWSBackend, _name: str) -> float | None:
    """The job: rotate when due; the next time to run."""
    from awsbroker.engines.aws import root_rotation

    with backend.rotation_lock:
        root_rotation.recover_abandoned(backend)
        config = path_config_root.load(backend)
        if config is None:
            return None
        state = load(backend)
        now = backend.system.clock.now()
        if state.settings != settings_of(config) or state.next is None:
            # Settings changed under us (or a rotation setting was never scheduled).
            state.settings = settings_of(config)
            state.next = next_after(config, now)
            backend.storage.put(STATE_KEY, state.to_record())
            return state.next
        if now < state.next:
            return state.next  # run early (rescheduled since): not due yet
        window = config.rotation_window if config.rotation_schedule else 0
        if window and now > state.next + window:
            log.warning(
                "the root rotation due at %s missed its window of %ss; waiting for the next",
                rfc3339(state.next), window,
            )  # fmt: skip
            state.next = next_after(config, now)
            backend.storage.put(STATE_KEY, state.to_record())
            return state.next
        root_rotation.rotate(backend)
        return load(backend).next
