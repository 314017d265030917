"""Automated rotation of the root key, from config/root's `rotation_period`, or
`rotation_schedule` (cron, UTC) with `rotation_window`, unless `disable_automated_rotation`.

The schedule is durable: `rotation/root` holds when the key was last rotated, when it is next
due and the settings that time was computed from, and the core's job `root` fires then, on one
process of however many share the storage. Writing config/root reschedules only when a rotation
setting changed; disabling (or clearing both settings) cancels the job. A run that fires late
rotates at once, except past a schedule's `rotation_window`, where Vault waits for the next
scheduled time and so do we. A failed rotation is retried by the core with backoff.

Every change of `rotation/root` is a compare-and-set over the record as stored at that moment,
computed from config/root as stored then: a rotation finishing on one process and a settings
change on another keep both the rotation time and the new settings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.schedule import next_time, rfc3339
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.records.root_config import RootConfig

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
    return _parse(backend.storage.get(STATE_KEY))


def _parse(blob: bytes | None) -> RootSchedule:
    return RootSchedule() if blob is None else RootSchedule.from_record(blob)


def update_state(backend: AWSBackend, change: Callable[[RootSchedule], None]) -> RootSchedule:
    """Change `rotation/root` as stored now, without losing another process's write (a
    rotation's `last` on one, a settings change on another): `change` edits the schedule it
    is given and may run more than once. The schedule as stored after."""

    def apply(blob: bytes | None) -> bytes:
        state = _parse(blob)
        change(state)
        return state.to_record()

    return _parse(update(backend.storage, STATE_KEY, apply))


def _schedule(backend: AWSBackend, state: RootSchedule) -> None:
    if state.next is None:
        backend.system.cancel_job(JOB)
    else:
        backend.system.schedule_job(JOB, state.next)


def configured(backend: AWSBackend) -> None:
    """After a config/root write: (re)schedule when a rotation setting changed. The settings
    are read as stored now, so of two writes on two processes the later one's count."""
    now = backend.system.clock.now()
    changed = False

    def change(state: RootSchedule) -> None:
        nonlocal changed
        config = root_config.load(backend)
        changed = config is not None and state.settings != settings_of(config)
        if config is not None and changed:
            state.settings = settings_of(config)
            state.next = next_after(config, now)

    state = update_state(backend, change)
    if changed:
        _schedule(backend, state)


def rotated(backend: AWSBackend, at: float) -> None:
    """After a rotation (requested, scheduled, or finished by recovery)."""
    now = backend.system.clock.now()

    def change(state: RootSchedule) -> None:
        config = root_config.load(backend)
        state.last = at
        if config is not None:
            state.settings = settings_of(config)
            state.next = next_after(config, max(at, now))

    _schedule(backend, update_state(backend, change))


def rotation_info(backend: AWSBackend) -> JSONObject:
    """Vault's fields for the rotation times (`RotationInfoResponseParams`)."""
    state = load(backend)
    return {
        "last_vault_rotation": None if state.last is None else rfc3339(state.last),
        "next_vault_rotation": None if state.next is None else rfc3339(state.next),
    }
