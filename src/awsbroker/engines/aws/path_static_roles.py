"""`static-roles/` (LIST) and `static-roles/:name`: keys of existing IAM users, rotated on a
schedule, stored at `static-roles/<name>` as Vault stores them (plus `grace_period`).

Creating a role checks the user (GetUser), makes its first key and schedules the role's job
(`static_rotation.py`). An update checks the user again when `username` is sent; a changed
`rotation_period` moves the next rotation to now + the new period. Deleting a role deletes
its keys in AWS first, then the records; the IAM user is kept. Cross-account roles
(`assume_role_arn`) work, where Vault CE answers 500. Messages are Vault's.

Several processes: a write merges into the role as stored at the moment of the write
(compare-and-set), and is refused (400) if the role was created, deleted or given another
user since it was read; a delete holds the role's rotation intent slot
(`static_rotation.deleting`), so it waits for no rotation and none runs during it.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING

from awsbroker.engines.aws import static_rotation
from awsbroker.engines.aws.path_roles import ROLE_NAME
from awsbroker.engines.aws.records import static_creds
from awsbroker.engines.aws.records.role import go_quote
from awsbroker.engines.aws.records.static_role import PREFIX, StaticRole, load
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONValue, Operation, Request, Response
from awsbroker.sdk.storage import update

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

MIN_PERIOD = 60
_CROSS_ACCOUNT = ("assume_role_arn", "assume_role_session_name", "external_id")
# An IAM role's ARN: partition, 12-digit account, optional path, name of IAM's characters.
_ROLE_ARN = re.compile(
    r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII
)


def paths() -> list[Path[AWSBackend]]:
    return [
        Path("static-roles/?", {Operation.LIST: list_static_roles}, summary="List static roles"),
        Path(
            "static-roles/" + ROLE_NAME,
            {
                Operation.READ: read_static_role,
                Operation.UPDATE: write_static_role,
                Operation.DELETE: delete_static_role,
            },
            {
                "name": Field(T.STRING, "Name of the role"),
                "username": Field(T.STRING, "The IAM user to manage the access key of"),
                "rotation_period": Field(
                    T.DURATION, "How often to rotate the key (at least 60 seconds)"
                ),
                "assume_role_arn": Field(T.STRING, "Role to assume for a user in another account"),
                "assume_role_session_name": Field(T.STRING, "Session name when assuming it"),
                "external_id": Field(T.STRING, "External ID when assuming it"),
                "grace_period": Field(
                    T.DURATION,
                    "awsbroker extension: how long the previous key stays valid after a "
                    "rotation (less than rotation_period; 0, the default, deletes it at once)",
                ),
            },
            summary="Manage the access key of an existing IAM user",
        ),
    ]


def list_static_roles(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    keys: list[JSONValue] = [k for k in b.storage.list(PREFIX) if not k.endswith("/")]
    return Response(data={"keys": keys})


def read_static_role(b: AWSBackend, req: Request, fd: FieldData) -> Response | None:
    role = load(b, fd.get_str("name"))
    return None if role is None else Response(data=role.to_response())


def write_static_role(b: AWSBackend, req: Request, fd: FieldData) -> Response:
    name = fd.get_str("name")
    with b.rotation_lock:
        existing = load(b, name)
        checked = _merged(existing, name, fd)
        if fd.is_set("username"):
            static_rotation.check_new_user(b, checked, existing, fd.get_str("username"))
        base, role = _store(b, existing, checked, fd)
        changed = base is not None and base.rotation_period != role.rotation_period
        static_rotation.configured(b, role, creating=base is None, period_changed=changed)
    return Response(data=role.to_response())


def _store(
    b: AWSBackend, existing: StaticRole | None, checked: StaticRole, fd: FieldData
) -> tuple[StaticRole | None, StaticRole]:
    """Store the write merged into the role as stored now, so another process's write of
    other fields meanwhile stays: (the role it was merged into, the role stored). The user was
    checked against `existing`; if the stored role has another user, or was created or
    deleted since, the write is refused and nothing changes."""
    merged: list[tuple[StaticRole | None, StaticRole]] = []

    def change(stored: bytes | None) -> bytes:
        current = None if stored is None else StaticRole.from_record(stored)
        if _user_of(current) != _user_of(existing):
            raise InvalidRequest(
                f"static role {go_quote(checked.name)} was created, deleted or given another "
                "user by another request meanwhile; read it and try again"
            )
        role = _merged(current, checked.name, fd)
        role.id, role.username = checked.id, checked.username
        merged.append((current, role))
        return role.to_record()

    update(b.storage, PREFIX + checked.name, change)
    return merged[-1]  # the last run of `change` is the one written


def _user_of(role: StaticRole | None) -> tuple[str, str] | None:
    return None if role is None else (role.id, role.username)


def _merged(existing: StaticRole | None, name: str, fd: FieldData) -> StaticRole:
    """The role as the request would leave it; input errors before any AWS call."""
    role = StaticRole(**asdict(existing)) if existing else StaticRole(name=name)
    if existing is None and not fd.get_str("username"):
        raise InvalidRequest('missing "username" parameter')
    if fd.is_set("rotation_period"):
        role.rotation_period = fd.get_duration("rotation_period")
        if role.rotation_period < MIN_PERIOD:
            raise InvalidRequest(
                "role rotation period out of range: must be greater than 60.00 seconds"
            )
    elif existing is None:
        raise InvalidRequest('missing "rotation_period" parameter')
    if fd.is_set("grace_period"):
        role.grace_period = fd.get_duration("grace_period")
    if role.grace_period < 0 or role.grace_period >= role.rotation_period:
        raise InvalidRequest("grace_period must be at least 0 and less than rotation_period")
    for field_name in _CROSS_ACCOUNT:
        if fd.is_set(field_name):
            setattr(role, field_name, fd.get_str(field_name))
    if role.assume_role_arn and not _ROLE_ARN.fullmatch(role.assume_role_arn):
        raise InvalidRequest(
            f"invalid assume_role_arn {role.assume_role_arn!r}: expected the ARN of an IAM "
            "role, arn:aws:iam::<account>:role/<name>"
        )
    if role.external_id and not role.assume_role_arn:
        raise InvalidRequest("external_id requires assume_role_arn")
    if role.assume_role_session_name and not role.assume_role_arn:
        raise InvalidRequest("assume_role_session_name requires assume_role_arn")
    return role


def delete_static_role(b: AWSBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("name")
    with b.rotation_lock, static_rotation.deleting(b, name):
        role = load(b, name)
        if role is None:
            return
        static_rotation.delete_keys(b, role)
        static_creds.delete(b, name)
        b.storage.delete(PREFIX + name)
        b.system.cancel_job(static_rotation.job_name(name))
