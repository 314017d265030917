"""Rotating the engine's own access key, crash-safe and verified.

    intent begun -> GetUser -> ListAccessKeys (two-key limit) -> intent creating
    -> CreateAccessKey -> intent created (the new key stored before it is used)
    -> GetCallerIdentity with the new key (retried through IAM's propagation delay)
    -> config/root stored with the new key -> DeleteAccessKey(old key) -> intent cleared

The new key goes into config/root as stored at that moment (compare-and-set), and only if it
still holds the old key: a config/root write on another process meanwhile keeps its fields,
and one that replaced the key makes the rotation fail (400) and be undone.

A failure undoes what was made (the new key is deleted; the old one was never touched). A
crash leaves the intent, and `recover` (the periodic hook, the rotation job, or the next
`config/rotate-root`) finishes or undoes it: when config/root already holds the new key the
old key is deleted, otherwise the new key is. Either way one working key remains, and none
astray. The caller holds `backend.rotation_lock`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from awsbroker.engines.aws import root_schedule
from awsbroker.engines.aws import rotation_intent as intents
from awsbroker.engines.aws.access_keys import (
    KEY_LIMIT,
    create_key,
    delete_key,
    list_keys,
    verify_key,
)
from awsbroker.engines.aws.records import root_config
from awsbroker.engines.aws.root_schedule import RootSchedule
from awsbroker.engines.aws.rotation_intent import Intent
from awsbroker.engines.aws.schedule import rfc3339
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, THROTTLING_CODES, error_code
from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest, UpstreamError
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM

log = logging.getLogger("awsbroker.engines.aws.root_rotation")
EMPTY_KEYS = "Cannot call config/rotate-root when either access_key or secret_key is empty"
IN_PROGRESS = "a rotation of the root credentials is already in progress"
KEY_REPLACED = (
    "config/root's access key was replaced while the root key was being rotated; the new key "
    "this rotation made is deleted and the one written meanwhile is kept"
)


def rotate(backend: AWSBackend) -> str:
    """Rotate the root key now; the new access key ID."""
    config = root_config.load(backend)
    if config is None:
        raise InternalError("no configuration found for config/root")
    if not config.access_key or not config.secret_key:
        raise InvalidRequest(EMPTY_KEYS)
    leftover = intents.load(backend, intents.ROOT)
    if leftover is not None:
        if not intents.abandoned(backend, leftover):
            raise InvalidRequest(IN_PROGRESS)
        recover(backend, leftover)
        return rotate(backend)
    old_iam = backend.clients.iam()
    intent = intents.begin(backend, intents.ROOT, config.access_key, busy=IN_PROGRESS)
    backend.after_step("begun")
    try:
        new_key = _create(backend, intent, old_iam)
        backend.after_step("created")
        sts = backend.clients.signed_sts(config, *new_key)
        try:
            verify_key(
                sts,
                intent.user,
                timeout=backend.verify_timeout,
                now=backend.system.clock.now,
                sleep=backend.sleep,
            )
        finally:
            sts.close()
        _store(backend, intent, new_key)
    except Exception:
        _undo_quietly(backend, intent)
        raise
    backend.after_step("stored")
    intents.report_rotation(backend, "root")
    try:
        delete_key(old_iam, intent.user, intent.old_access_key)
    except AWS_ERRORS as exc:
        # The new key is in use; the intent stays and the next recovery deletes the old key.
        raise _error("error deleting old access key", exc) from exc
    backend.after_step("deleted")
    intents.clear(backend, intents.ROOT, intent)
    root_schedule.rotated(backend, intent.started_at)
    return new_key[0]


def _store(backend: AWSBackend, intent: Intent, new_key: tuple[str, str]) -> None:
    """Put the new key into config/root as stored now, only if that still holds the key this
    rotation replaces. Fields written meanwhile (a region, a schedule) stay; a key written
    meanwhile (an operator's `access_key`) wins: the rotation fails, and is undone."""

    def change(stored: bytes | None) -> bytes:
        config = None if stored is None else root_config.RootConfig.from_record(stored)
        if config is None or config.access_key != intent.old_access_key:
            raise InvalidRequest(KEY_REPLACED)
        config.access_key, config.secret_key = new_key
        return config.to_record()

    try:
        update(backend.storage, root_config.STORAGE_KEY, change)
    except InvalidRequest:
        raise
    except BrokerError as exc:
        raise InternalError(f"error saving new config/root: {exc}") from exc


def _create(backend: AWSBackend, intent: Intent, client: IAM) -> tuple[str, str]:
    try:
        user = client.get_user()["User"].get("UserName", "")
    except AWS_ERRORS as exc:
        raise _error("error calling GetUser", exc) from exc
    if not user:
        raise InternalError("nil UserName returned from GetUser")
    try:
        keys = list_keys(client, user)
    except AWS_ERRORS as exc:
        raise _error("error calling ListAccessKeys", exc) from exc
    if len(keys) >= KEY_LIMIT:
        others = ", ".join(k for k in keys if k != intent.old_access_key)
        raise InvalidRequest(
            f'IAM user "{user}" already has {len(keys)} access keys, the most AWS allows, and '
            f"only one is the broker's; delete the other ({others}) and rotate again"
        )
    # In memory only once stored: an undo after a failed save must not act on keys_before.
    creating = replace(intent, step=intents.CREATING, user=user, keys_before=keys)
    intents.save(backend, intents.ROOT, creating)
    intent.step, intent.user, intent.keys_before = intents.CREATING, user, keys
    backend.after_step("creating")
    try:
        access, secret = create_key(client, user)
    except AWS_ERRORS as exc:
        raise _error("error calling CreateAccessKey", exc) from exc
    intent.step, intent.new_access_key, intent.new_secret_key = intents.CREATED, access, secret
    intents.save(backend, intents.ROOT, intent)
    return access, secret


def recover(backend: AWSBackend, intent: Intent) -> None:
    """Finish or undo an abandoned rotation (see the module's docstring)."""
    config = root_config.current(backend)
    if intent.step == intents.CREATED and config.access_key == intent.new_access_key:
        if intent.old_access_key and intent.old_access_key != intent.new_access_key:
            delete_key(backend.clients.iam(), intent.user, intent.old_access_key)
        log.warning("finished an interrupted root rotation: deleted %s", intent.old_access_key)
        intents.clear(backend, intents.ROOT, intent)
        root_schedule.rotated(backend, intent.started_at)
        return
    _undo(backend, intent, config)


def _undo(backend: AWSBackend, intent: Intent, config: root_config.RootConfig) -> None:
    if intent.step == intents.CREATED:
        _delete_new_key(backend, intent, config)
    elif intent.step == intents.CREATING:
        iam = backend.clients.iam()
        for key in list_keys(iam, intent.user):
            if key not in intent.keys_before and key != config.access_key:
                delete_key(iam, intent.user, key)
    if intent.step != intents.BEGUN:
        log.warning("undid an unfinished root rotation of IAM user %s", intent.user)
    intents.clear(backend, intents.ROOT, intent)


def _delete_new_key(backend: AWSBackend, intent: Intent, config: root_config.RootConfig) -> None:
    try:
        delete_key(backend.clients.iam(), intent.user, intent.new_access_key)
    except (*AWS_ERRORS, BrokerError):
        # config/root no longer signs for that user (changed meanwhile): the key deletes itself.
        own = backend.clients.signed_iam(config, intent.new_access_key, intent.new_secret_key)
        try:
            delete_key(own, intent.user, intent.new_access_key)
        finally:
            own.close()


def _undo_quietly(backend: AWSBackend, intent: Intent) -> None:
    try:
        _undo(backend, intent, root_config.current(backend))
    except Exception:
        log.exception("undoing a failed root rotation failed; the next recovery retries")


def recover_abandoned(backend: AWSBackend) -> None:
    """Recover the root rotation intent if it is abandoned. The caller holds the lock."""
    intent = intents.load(backend, intents.ROOT)
    if intent is not None and intents.abandoned(backend, intent):
        recover(backend, intent)


def _error(prefix: str, exc: Exception) -> BrokerError:
    """Vault answers AWS failures of rotate-root with 500; a throttle is 502 here, as ever."""
    if error_code(exc) in THROTTLING_CODES:
        return UpstreamError(f"{prefix}: {exc}")
    return InternalError(f"{prefix}: {exc}")


def run_job(backend: AWSBackend, _name: str) -> float | None:
    """The `root` job (root_schedule.py keeps its state): rotate when due; the next time to
    run."""
    with backend.rotation_lock:
        recover_abandoned(backend)
        config = root_config.load(backend)
        if config is None:
            return None
        now = backend.system.clock.now()
        due = False
        missed: float | None = None

        def change(state: RootSchedule) -> None:
            nonlocal due, missed
            due, missed = False, None
            if state.settings != root_schedule.settings_of(config) or state.next is None:
                # Settings changed under us (or a rotation setting was never scheduled).
                state.settings = root_schedule.settings_of(config)
                state.next = root_schedule.next_after(config, now)
            elif now < state.next:
                pass  # run early (rescheduled since): not due yet
            elif window and now > state.next + window:
                missed, state.next = state.next, root_schedule.next_after(config, now)
            else:
                due = True

        window = config.rotation_window if config.rotation_schedule else 0
        state = root_schedule.update_state(backend, change)
        if missed is not None:
            log.warning(
                "the root rotation due at %s missed its window of %ss; waiting for the next",
                rfc3339(missed), window,
            )  # fmt: skip
        if not due:
            return state.next
        rotate(backend)
        return root_schedule.load(backend).next
