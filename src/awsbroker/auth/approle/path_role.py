"""`role/`, `role/:name` and `role/:name/role-id`: AppRole's roles, with Vault's fields."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from awsbroker.auth.approle.store import Role
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path, list_response
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response
from awsbroker.sdk.token_fields import TOKEN_FIELDS, parse_cidrs

if TYPE_CHECKING:
    from awsbroker.auth.approle.backend import AppRoleBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ROLE_NAME = r"(?P<role_name>\w(?:[\w.-]*\w)?)"
_NAME = {"role_name": Field(T.STRING, "Name of the role", required=True)}
ROLE_FIELDS: dict[str, Field] = {
    **_NAME,
    "role_id": Field(T.STRING, "Role ID of the role; a random UUID when not given"),
    "bind_secret_id": Field(T.BOOL, "Require a secret ID at login", default=True),
    "secret_id_bound_cidrs": Field(T.STRING_LIST, "CIDR blocks a secret ID may log in from"),
    "bound_cidr_list": Field(T.STRING_LIST, "Deprecated: use secret_id_bound_cidrs"),
    "secret_id_num_uses": Field(T.INT, "Logins a secret ID allows; 0 is unlimited"),
    "secret_id_ttl": Field(T.DURATION, "How long a secret ID lives; 0 is forever"),
    "local_secret_ids": Field(T.BOOL, "Accepted for compatibility (there is one cluster)"),
    **TOKEN_FIELDS,
}


def paths() -> list[Path[AppRoleBackend]]:
    return [
        Path("role/?", {L: list_roles}, summary="List roles"),
        Path(
            f"role/{ROLE_NAME}/role-id",
            {R: read_role_id, U: write_role_id},
            {**_NAME, "role_id": Field(T.STRING, "The new role ID")},
            summary="Read or set a role's role ID",
        ),
        Path(
            f"role/{ROLE_NAME}",
            {R: read_role, U: write_role, D: delete_role},
            ROLE_FIELDS,
            existence_check=role_exists,
            summary="Create, read, update or delete a role",
        ),
    ]


def role_named(b: AppRoleBackend, fd: FieldData) -> Role:
    role = b.store.role(fd.get_str("role_name"))
    if role is None:
        raise InvalidRequest(f"role {fd.get_str('role_name')!r} does not exist")
    return role


def role_exists(b: AppRoleBackend, req: Request, fd: FieldData) -> bool:
    return b.store.role(fd.get_str("role_name")) is not None


def list_roles(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    names = b.store.role_names()
    return list_response(names)


def write_role(b: AppRoleBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("role_name").lower()
    role = b.store.role(name)
    created = role is None
    if role is None:
        role = Role(name=name, role_id=fd.get_str("role_id") or str(uuid.uuid4()))
    if fd.is_set("bind_secret_id"):
        role.bind_secret_id = fd.get_bool("bind_secret_id")
    for key in ("secret_id_bound_cidrs", "bound_cidr_list"):
        if fd.is_set(key):
            role.secret_id_bound_cidrs = parse_cidrs(key, fd.get_list(key))
    if fd.is_set("secret_id_num_uses"):
        role.secret_id_num_uses = fd.get_int("secret_id_num_uses")
        if role.secret_id_num_uses < 0:
            raise InvalidRequest("secret_id_num_uses cannot be negative")
    if fd.is_set("secret_id_ttl"):
        role.secret_id_ttl = fd.get_duration("secret_id_ttl")
    if fd.is_set("local_secret_ids"):
        if not created and fd.get_bool("local_secret_ids") != role.local_secret_ids:
            raise InvalidRequest("local_secret_ids can only be modified during role creation")
        role.local_secret_ids = fd.get_bool("local_secret_ids")
    role.token.update(fd)
    if not role.bind_secret_id and not role.secret_id_bound_cidrs and not role.token.bound_cidrs:
        raise InvalidRequest(
            "at least one constraint should be enabled on the role: bind_secret_id, "
            "secret_id_bound_cidrs or token_bound_cidrs"
        )
    old_role_id = role.role_id
    if not created and fd.get_str("role_id"):
        role.role_id = fd.get_str("role_id")
    _set_role_id(b, role, old_role_id, created)


def _set_role_id(b: AppRoleBackend, role: Role, old_role_id: str, created: bool) -> None:
    if (created or role.role_id != old_role_id) and not b.store.index_role_id(
        role.role_id, role.name
    ):
        raise InvalidRequest("role_id is already in use by another role")
    b.store.put_role(role)
    if not created and role.role_id != old_role_id:
        b.store.unindex_role_id(old_role_id)


def read_role(b: AppRoleBackend, req: Request, fd: FieldData) -> Response | None:
    role = b.store.role(fd.get_str("role_name"))
    if role is None:
        return None
    data: JSONObject = {
        "bind_secret_id": role.bind_secret_id,
        "secret_id_bound_cidrs": list[JSONValue](role.secret_id_bound_cidrs),
        "secret_id_num_uses": role.secret_id_num_uses,
        "secret_id_ttl": role.secret_id_ttl,
        "local_secret_ids": role.local_secret_ids,
        **role.token.response_data(),
    }
    return Response(data=data)


def delete_role(b: AppRoleBackend, req: Request, fd: FieldData) -> None:
    role = b.store.role(fd.get_str("role_name"))
    if role is None:
        return
    for secret in b.store.secrets_of(role.name):
        b.store.delete_secret(secret)
    b.store.unindex_role_id(role.role_id)
    b.store.storage.delete(f"role/{role.name}")


def read_role_id(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    return Response(data={"role_id": role_named(b, fd).role_id})


def write_role_id(b: AppRoleBackend, req: Request, fd: FieldData) -> None:
    fd.require("role_id")
    role = role_named(b, fd)
    old = role.role_id
    role.role_id = fd.get_str("role_id")
    _set_role_id(b, role, old, created=False)
