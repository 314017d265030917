"""Keys of static roles: the first one, rotations that replace it, grace periods, deletion.

Each role has one job, `static/<name>`, in the core's durable schedule: it runs at the next
rotation (`expiration`) or at the end of a grace period, on one process only, and survives
restarts. A rotation records its intent (`rotation_intent.py`), makes room under AWS's
two-key limit (only ever deleting keys the role owns), creates the new key, stores it, and then
deletes the previous key, or keeps it for `grace_period` when one is set. Cross-account roles
sign IAM calls with credentials from AssumeRole on the mount's STS client.

A role write on another process may run at any point of a rotation. Every change of
`static-creds/<name>` is a compare-and-set over the record as stored at that moment: the
rotation stores its key only if the record still holds the key it replaced and the role
still exists (else it is undone), and counts the next rotation with the period as stored
then; a period change moves the next rotation of whatever key is stored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from awsbroker.engines.aws import rotation_intent as intents
from awsbroker.engines.aws.access_keys import (
    KEY_LIMIT,
    create_key,
    delete_key,
    list_keys,
)
from awsbroker.engines.aws.records import root_config, static_creds, static_role
from awsbroker.engines.aws.records.role import go_quote
from awsbroker.engines.aws.records.static_creds import StaticCreds
from awsbroker.engines.aws.records.static_role import StaticRole
from awsbroker.engines.aws.rotation_intent import Intent
from awsbroker.engines.aws.sts import normalize_name
from awsbroker.engines.aws.transport.errors import AWS_ERRORS, aws_error
from awsbroker.sdk.errors import BrokerError, InternalError, InvalidRequest

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend
    from awsbroker.engines.aws.transport.api import IAM, AssumeRoleRequest

log = logging.getLogger("awsbroker.engines.aws.static_rotation")
JOB_PREFIX = "static/"
# A role whose first key could not be made (or whose writer died) is retried this soon.
RETRY_SOON = 60.0
ASSUME_ROLE_SECONDS = 900


def job_name(role: str) -> str:
    return JOB_PREFIX + role


@contextlib.contextmanager
def role_iam(backend: AWSBackend, role: StaticRole) -> Iterator[IAM]:
    """The IAM client for the role's user: the mount's, or one on AssumeRole credentials."""
    if not role.assume_role_arn:
        yield backend.clients.iam()
        return
    args: AssumeRoleRequest = {
        "RoleArn": role.assume_role_arn,
        "RoleSessionName": role.assume_role_session_name
        or normalize_name(f"awsbroker-static-{role.name}")[:64],
        "DurationSeconds": ASSUME_ROLE_SECONDS,
    }
    if role.external_id:
        args["ExternalId"] = role.external_id
    config = root_config.current(backend)
    try:
        client = backend.clients.assumed_iam(config, args)
    except AWS_ERRORS as exc:
        raise aws_error(f"failed to get IAM client for role {go_quote(role.name)}", exc) from exc
    try:
        yield client
    finally:
        client.close()


def check_new_user(
    backend: AWSBackend, role: StaticRole, existing: StaticRole | None, username: str
) -> None:
    """Vault's checks of `username` (§2.6 step 3), and, on create, AWS's two-key limit."""
    with role_iam(backend, role) as iam:
        try:
            user = iam.get_user(UserName=username)["User"]
        except AWS_ERRORS as exc:
            raise aws_error(f"unable to validate username {go_quote(username)}", exc) from exc
        if user["UserName"] != username:
            raise InternalError(
                "AWS GetUser returned a username, but it didn't match: "
                f"{go_quote(username)} was requested, but {go_quote(user['UserName'])} "
                "was returned"
            )
        if existing is not None and existing.id != user["UserId"]:
            raise InternalError(
                "AWS GetUser returned a user, but the ID did not match: "
                f"{go_quote(existing.id)} was requested, but {go_quote(user['UserId'])} "
                "was returned"
            )
        if existing is None:
            try:
                keys = list_keys(iam, username)
            except AWS_ERRORS as exc:
                raise _list_error(username, exc) from exc
            if len(keys) >= KEY_LIMIT:
                raise _full(username, keys)
    role.id, role.username = user["UserId"], username


def configured(
    backend: AWSBackend, role: StaticRole, *, creating: bool, period_changed: bool
) -> None:
    """After a role write: make its first key, or move its next rotation; then schedule it.
    The caller holds the rotation lock."""
    now = backend.system.clock.now()
    creds = static_creds.load(backend, role.name)
    if creds is None:
        # If this process dies before the key is stored, the job makes it soon.
        backend.system.schedule_job(job_name(role.name), now + RETRY_SOON)
        try:
            creds = rotate(backend, role, None)
        except BrokerError as exc:
            if creating:
                _forget_new_role(backend, role)
            prefix = f"failed to create new credentials for role {go_quote(role.name)}: "
            raise type(exc)(*(prefix + m for m in exc.messages)) from exc
    elif period_changed:
        creds = _move_next_rotation(backend, role.name, now)
        if creds is None:
            return  # deleted meanwhile, with its job
    backend.system.schedule_job(job_name(role.name), creds.next_event())


def _forget_new_role(backend: AWSBackend, role: StaticRole) -> None:
    """Remove the role this request created and could make no key for; not if another write
    changed it meanwhile: that one stays, and its job makes the key (RETRY_SOON)."""
    if backend.storage.compare_and_set(static_role.PREFIX + role.name, role.to_record(), None):
        backend.system.cancel_job(job_name(role.name))


def _move_next_rotation(backend: AWSBackend, name: str, now: float) -> StaticCreds | None:
    """After a change of the period: the next rotation is now + the period as stored now
    (the latest write's, whichever process's configured() runs last)."""

    def change(creds: StaticCreds | None) -> StaticCreds | None:
        period = stored_period(backend, name)
        if creds is not None and period is not None:
            creds.expiration = now + period
        return creds

    return static_creds.update(backend, name, change)


def stored_period(backend: AWSBackend, name: str) -> int | None:
    """The role's rotation period as stored now; None when the role is gone."""
    role = static_role.load(backend, name)
    return None if role is None else role.rotation_period


def run(backend: AWSBackend, name: str) -> float | None:
    """The role's job: end a grace period, rotate when due; the next time to run."""
    with backend.rotation_lock:
        now = backend.system.clock.now()
        leftover = intents.load(backend, intents.static_key(name))
        if leftover is not None:
            if not intents.abandoned(backend, leftover):
                return now + RETRY_SOON  # another process is rotating it right now
            recover(backend, name, leftover)
        role = static_role.load(backend, name)
        if role is None:
            return None
        creds = static_creds.load(backend, name)
        if creds is not None and not creds.expiration:
            creds = _fill_in_expiration(backend, name, now + role.rotation_period)
        if creds is not None and creds.previous_access_key and now >= creds.previous_expiration:
            with role_iam(backend, role) as iam:
                _delete(iam, role.username, creds.previous_access_key)
            creds = _forget_previous(backend, name, creds.previous_access_key)
        if creds is None or now >= creds.expiration:
            creds = rotate(backend, role, creds)
        return creds.next_event()


def _fill_in_expiration(backend: AWSBackend, name: str, when: float) -> StaticCreds | None:
    """A record without a next rotation (OpenBao writes none) gets `when`."""

    def change(creds: StaticCreds | None) -> StaticCreds | None:
        if creds is not None and not creds.expiration:
            creds.expiration = when
        return creds

    return static_creds.update(backend, name, change)


def _forget_previous(backend: AWSBackend, name: str, key: str) -> StaticCreds | None:
    """The previous key `key` is deleted in AWS: drop it from the record, if still there."""

    def change(creds: StaticCreds | None) -> StaticCreds | None:
        if creds is not None and creds.previous_access_key == key:
            creds.drop_previous()
        return creds

    return static_creds.update(backend, name, change)


def rotate(backend: AWSBackend, role: StaticRole, creds: StaticCreds | None) -> StaticCreds:
    """Replace the role's key (or make its first). The caller holds the rotation lock."""
    key = intents.static_key(role.name)
    leftover = intents.load(backend, key)
    if leftover is not None:
        if not intents.abandoned(backend, leftover):
            raise InvalidRequest(_in_progress(role.name))
        recover(backend, role.name, leftover)
        creds = static_creds.load(backend, role.name)
    now = backend.system.clock.now()
    with role_iam(backend, role) as iam:
        rotated_from = creds.access_key if creds else ""
        intent = intents.begin(backend, key, rotated_from, busy=_in_progress(role.name))
        intent.user = role.username
        backend.after_step("begun")
        try:
            new, old = _replace(backend, iam, role, creds, intent=intent, now=now)
        except Exception:
            _undo_quietly(backend, role.name, intent)
            raise
        backend.after_step("stored")
        intents.report_rotation(backend, f"static:{role.name}")
        if old:
            try:
                _delete(iam, role.username, old)
            except BrokerError as exc:
                log.warning("old key of static role %s not deleted yet: %s", role.name, exc)
                return new  # the intent stays: the next recovery deletes it
        backend.after_step("deleted")
    intents.clear(backend, key, intent)
    return new


def _replace(
    backend: AWSBackend,
    iam: IAM,
    role: StaticRole,
    creds: StaticCreds | None,
    *,
    intent: Intent,
    now: float,
) -> tuple[StaticCreds, str]:
    """Create and store the new key; the old key to delete now ("" if none, or kept)."""
    _check_user(iam, role)
    try:
        keys = list_keys(iam, role.username)
    except AWS_ERRORS as exc:
        raise _list_error(role.username, exc) from exc
    keys = _make_room(backend, iam, role, creds, keys)
    # In memory only once stored: an undo after a failed save must not act on keys_before.
    creating = replace(intent, step=intents.CREATING, keys_before=keys)
    intents.save(backend, intents.static_key(role.name), creating)
    intent.step, intent.keys_before = intents.CREATING, keys
    backend.after_step("creating")
    try:
        access, secret = create_key(iam, role.username)
    except AWS_ERRORS as exc:
        user = go_quote(role.username)
        raise aws_error(f"unable to create new access keys for user {user}", exc) from exc
    intent.step, intent.new_access_key, intent.new_secret_key = intents.CREATED, access, secret
    intents.save(backend, intents.static_key(role.name), intent)
    backend.after_step("created")
    old = creds.access_key if creds is not None and creds.access_key in keys else ""
    keep = bool(old and role.grace_period)
    new = _store(backend, role, creds, (access, secret), keep_previous=keep, now=now)
    return new, "" if keep else old


def _store(
    backend: AWSBackend,
    role: StaticRole,
    creds: StaticCreds | None,
    new_key: tuple[str, str],
    *,
    keep_previous: bool,
    now: float,
) -> StaticCreds:
    """Store the new key (and the one it replaces, for the grace period, if `keep_previous`)
    over the record as stored now, only if that still holds the key this rotation replaces (none,
    for a first key) and the role still exists; else the rotation fails and is undone. The
    next rotation is now + the period as stored now: a period written meanwhile holds."""
    rotated_from = creds.access_key if creds is not None else None

    def change(stored: StaticCreds | None) -> StaticCreds:
        period = stored_period(backend, role.name)
        if period is None:
            raise InvalidRequest(
                f"static role {go_quote(role.name)} was deleted while its key was being "
                "rotated; the new key this rotation made is deleted"
            )
        if (stored.access_key if stored is not None else None) != rotated_from:
            raise InvalidRequest(
                f"the key of static role {go_quote(role.name)} was replaced while it was "
                "being rotated; the new key this rotation made is deleted"
            )
        new = StaticCreds(*new_key, expiration=now + period)
        if keep_previous and creds is not None:
            new.previous_access_key, new.previous_secret_key = creds.access_key, creds.secret_key
            new.previous_expiration = now + role.grace_period
        return new

    stored = static_creds.update(backend, role.name, change)
    assert stored is not None  # `change` never deletes
    return stored


def _check_user(iam: IAM, role: StaticRole) -> None:
    prefix = "iam user didn't exist, or username/userid didn't match"
    try:
        user_id = iam.get_user(UserName=role.username)["User"]["UserId"]
    except AWS_ERRORS as exc:
        raise aws_error(prefix, exc) from exc
    if role.id and user_id != role.id:
        raise InternalError(f"{prefix}: user ID {user_id} is not the role's {role.id}")


def _make_room(
    backend: AWSBackend,
    iam: IAM,
    role: StaticRole,
    creds: StaticCreds | None,
    keys: list[str],
) -> list[str]:
    """Get under the two-key limit by deleting only keys the role owns: the previous key
    (its grace period cut short), else the current one (this rotation has no overlap)."""
    if len(keys) < KEY_LIMIT:
        return keys
    if creds is not None and creds.previous_access_key in keys:
        log.warning("static role %s: grace period cut short (two-key limit)", role.name)
        _delete(iam, role.username, creds.previous_access_key)
        keys.remove(creds.previous_access_key)
        _forget_previous(backend, role.name, creds.previous_access_key)
        creds.drop_previous()
    elif creds is not None and creds.access_key in keys:
        log.warning(
            "static role %s: user %s has a key the role does not own; rotating without overlap",
            role.name, role.username,
        )  # fmt: skip
        _delete(iam, role.username, creds.access_key)
        keys.remove(creds.access_key)
    if len(keys) >= KEY_LIMIT:
        raise _full(role.username, keys)
    return keys


def recover(backend: AWSBackend, name: str, intent: Intent) -> None:
    """Finish or undo an abandoned rotation of role `name`: keep the keys its stored
    credentials name, delete any other key the rotation made, and the replaced key."""
    role = static_role.load(backend, name)
    creds = static_creds.load(backend, name)
    kept = {creds.access_key, creds.previous_access_key} - {""} if creds else set()
    if role is not None:
        with role_iam(backend, role) as iam:
            _recover_keys(iam, intent, kept)
    else:
        _recover_keys(backend.clients.iam(), intent, kept)
    intents.clear(backend, intents.static_key(name), intent)


def _recover_keys(iam: IAM, intent: Intent, kept: set[str]) -> None:
    doomed: set[str] = set()
    if intent.step == intents.CREATED:
        doomed.add(intent.new_access_key)
        if intent.new_access_key in kept:
            doomed = {intent.old_access_key} - {""}  # stored: finish by deleting the old key
    elif intent.step == intents.CREATING:
        try:
            doomed = set(list_keys(iam, intent.user)) - set(intent.keys_before)
        except AWS_ERRORS as exc:
            raise _list_error(intent.user, exc) from exc
    for key in sorted(doomed - kept):
        _delete(iam, intent.user, key)


def _undo_quietly(backend: AWSBackend, name: str, intent: Intent) -> None:
    try:
        recover(backend, name, intent)
    except Exception:
        log.exception("undoing a failed rotation of static role %s failed; retried later", name)


def recover_abandoned(backend: AWSBackend) -> None:
    """Recover every abandoned static rotation intent. The caller holds the lock."""
    for name in intents.pending_static(backend):
        intent = intents.load(backend, intents.static_key(name))
        if intent is not None and intents.abandoned(backend, intent):
            recover(backend, name, intent)


@contextlib.contextmanager
def deleting(backend: AWSBackend, name: str) -> Iterator[None]:
    """Hold the role's intent slot while the role is deleted: no rotation of its key can begin
    on another process meanwhile (one under way there makes the delete a 400), so none stores
    a key once the records are gone. An abandoned rotation is finished or undone first. The
    caller holds the rotation lock."""
    key = intents.static_key(name)
    leftover = intents.load(backend, key)
    if leftover is not None:
        if not intents.abandoned(backend, leftover):
            raise InvalidRequest(_in_progress(name))
        try:
            recover(backend, name, leftover)
        except BrokerError as exc:
            raise _clean_error(name, exc) from exc
    claim = intents.begin(backend, key, "", busy=_in_progress(name))
    try:
        yield
    finally:
        intents.clear(backend, key, claim)


def delete_keys(backend: AWSBackend, role: StaticRole) -> None:
    """Delete the role's keys in AWS (current and previous), inside `deleting`."""
    creds = static_creds.load(backend, role.name)
    keys = {creds.access_key, creds.previous_access_key} if creds else set()
    try:
        with role_iam(backend, role) as iam:
            for key in sorted(keys - {""}):
                _delete(iam, role.username, key)
    except BrokerError as exc:
        raise _clean_error(role.name, exc) from exc


def _clean_error(name: str, exc: BrokerError) -> InternalError:
    reason = "; ".join(exc.messages)
    message = f"failed to clean credentials while deleting role {go_quote(name)}"
    return InternalError(f"{message}: couldn't delete from IAM: {reason}")  # noqa: S608 - not SQL


def _delete(iam: IAM, user: str, key: str) -> None:
    try:
        delete_key(iam, user, key)
    except AWS_ERRORS as exc:
        raise aws_error(f"unable to delete access key {key} of user {go_quote(user)}", exc) from exc


def _list_error(user: str, exc: Exception) -> BrokerError:
    return aws_error(f"unable to list existing access keys for IAM user {go_quote(user)}", exc)


def _in_progress(role: str) -> str:
    return f"a rotation of role {go_quote(role)} is already in progress"


def _full(user: str, keys: list[str]) -> InvalidRequest:
    return InvalidRequest(
        f"IAM user {go_quote(user)} already has {len(keys)} access keys ({', '.join(keys)}), "
        "the most AWS allows, and none is this role's: delete one of them first"
    )
