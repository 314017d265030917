"""The intent of a key rotation, in storage before the first AWS call and after every step.

A rotation writes its intent, then moves it through three steps:

    begun     nothing made in AWS yet
    creating  the user's keys before CreateAccessKey are recorded (`keys_before`)
    created   the new key is recorded, before anything uses it

and clears it when done. An intent that outlives its rotation (the process died, or the
clean-up after a failure failed too) is *abandoned*, and the next recovery undoes it: every key
not in `keys_before` that the owner does not use is deleted, so after a crash there is one
working key and no stray one. Recovery is the same idempotent step on every process, so two
processes recovering one intent at once agree.

The intent is also what keeps two processes from rotating one key at once: it is written only
where there is none, and a step is recorded (or the intent cleared) only while the stored
intent is still the rotation's own, each a compare-and-set.

Keys: `rotation/intent/root`, `rotation/intent/static/<role>`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest
from awsbroker.sdk.storage import update
from awsbroker.sdk.telemetry import ROTATION_LAST_SUCCESS

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

PREFIX = "rotation/intent/"
ROOT = PREFIX + "root"
STATIC_PREFIX = PREFIX + "static/"
BEGUN, CREATING, CREATED = "begun", "creating", "created"
# A rotation takes seconds (at most the key verification bound and a few AWS calls): an
# intent this old is abandoned even when the process that wrote it still runs.
MAX_AGE = 600.0


def static_key(role: str) -> str:
    return STATIC_PREFIX + role


@dataclass
class Intent:
    id: str
    boot: str
    started_at: float
    step: str = BEGUN
    user: str = ""
    old_access_key: str = ""
    keys_before: list[str] = field(default_factory=list)
    new_access_key: str = ""
    new_secret_key: str = field(default="", repr=False)

    def to_record(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> Intent:
        return cls(**json.loads(blob))


class IntentLost(InternalError):
    """The stored intent is no longer this rotation's: another process judged it abandoned
    (its writer looked dead, or it outlived `MAX_AGE`) and recovered it."""


def begin(backend: AWSBackend, key: str, old_access_key: str, *, busy: str) -> Intent:
    """Store a new intent at `key` if there is none (compare-and-set: of two processes that
    both found none, one gets it); otherwise InvalidRequest(`busy`)."""
    intent = Intent(
        id=str(uuid.uuid4()),
        boot=backend.system.boot_id,
        started_at=backend.system.clock.now(),
        old_access_key=old_access_key,
    )
    try:
        taken = not backend.storage.compare_and_set(key, None, intent.to_record())
    except BrokerError as exc:
        raise _write_error(exc) from exc
    if taken:
        raise InvalidRequest(busy)
    return intent


def save(backend: AWSBackend, key: str, intent: Intent) -> None:
    """Record the intent's new step, only while the stored intent is this one. One recovered
    by another process meanwhile is not brought back: the rotation stops (`IntentLost`)."""

    def change(stored: bytes | None) -> bytes:
        if not _is(stored, intent):
            raise IntentLost("the rotation was stopped: another process recovered it as abandoned")
        return intent.to_record()

    try:
        update(backend.storage, key, change)
    except IntentLost:
        raise
    except BrokerError as exc:
        raise _write_error(exc) from exc


def load(backend: AWSBackend, key: str) -> Intent | None:
    blob = backend.storage.get(key)
    return None if blob is None else Intent.from_record(blob)


def clear(backend: AWSBackend, key: str, intent: Intent) -> None:
    """Delete the intent, unless another rotation has replaced it since (compare-and-set, so
    not one that replaces it at the same moment either)."""
    update(backend.storage, key, lambda stored: None if _is(stored, intent) else stored)


def _is(stored: bytes | None, intent: Intent) -> bool:
    return stored is not None and Intent.from_record(stored).id == intent.id


def _write_error(exc: BrokerError) -> InternalError:
    return InternalError(f"error writing rotation intent: {'; '.join(exc.messages)}")


def abandoned(backend: AWSBackend, intent: Intent) -> bool:
    """Whether no rotation is working on `intent` any more. The caller holds the backend's
    rotation lock, so one of this process's own intents is always abandoned."""
    if intent.boot == backend.system.boot_id:
        return True
    if not backend.system.node_alive(intent.boot):
        return True
    return backend.system.clock.now() - intent.started_at >= MAX_AGE


def pending_static(backend: AWSBackend) -> list[str]:
    """Role names with a static rotation intent."""
    return [k for k in backend.storage.list(STATIC_PREFIX) if not k.endswith("/")]


def report_rotation(backend: AWSBackend, kind: str) -> None:
    """The new key is in use: tell the metrics when (`kind` is 'root' or 'static:<role>')."""
    labels = {"mount": backend.mount_path, "kind": kind}
    backend.telemetry.gauge(ROTATION_LAST_SUCCESS, backend.system.clock.now(), labels)
