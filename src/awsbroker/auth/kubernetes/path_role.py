"""`role/` and `role/:name`: which service accounts may log in, and what their tokens get."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.auth.kubernetes.store import ALIAS_SOURCES, Role
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path, list_response
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response
from awsbroker.sdk.token_fields import TOKEN_FIELDS, parse_cidrs

if TYPE_CHECKING:
    from awsbroker.auth.kubernetes.backend import KubernetesBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ROLE_NAME = r"(?P<name>\w(?:[\w.-]*\w)?)"
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(T.STRING, "Name of the role", required=True),
    "bound_service_account_names": Field(
        T.STRING_LIST, "Service account names allowed to log in ('*' or globs)"
    ),
    "bound_service_account_namespaces": Field(
        T.STRING_LIST, "Namespaces allowed to log in ('*' or globs)"
    ),
    "bound_service_account_namespace_selector": Field(T.STRING, "Not supported"),
    "audience": Field(T.STRING, "Audience the token must have; sent to the TokenReview API"),
    "alias_name_source": Field(T.STRING, "'serviceaccount_uid' (default) or 'serviceaccount_name'"),
    **TOKEN_FIELDS,
    # Vault's deprecated names of this method, still sent by clients (hvac's create_role).
    "ttl": Field(T.DURATION, "Deprecated: use token_ttl"),
    "max_ttl": Field(T.DURATION, "Deprecated: use token_max_ttl"),
    "num_uses": Field(T.INT, "Deprecated: use token_num_uses"),
    "bound_cidrs": Field(T.STRING_LIST, "Deprecated: use token_bound_cidrs"),
}


def paths() -> list[Path[KubernetesBackend]]:
    return [
        Path("role/?", {L: list_roles}, summary="List roles"),
        Path(
            f"role/{ROLE_NAME}",
            {R: read_role, U: write_role, D: delete_role},
            ROLE_FIELDS,
            existence_check=role_exists,
            summary="Create, read, update or delete a role",
        ),
    ]


def role_exists(b: KubernetesBackend, req: Request, fd: FieldData) -> bool:
    return b.store.role(fd.get_str("name")) is not None


def list_roles(b: KubernetesBackend, req: Request, fd: FieldData) -> Response:
    names = b.store.role_names()
    return list_response(names)


def _bound(fd: FieldData, key: str) -> list[str]:
    values = [v.strip() for v in fd.get_list(key) if v.strip()]
    if "*" in values and len(values) > 1:
        raise InvalidRequest(f'can not mix "*" with values in {key}')
    return values


def write_role(b: KubernetesBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("name").lower()
    role = b.store.role(name) or Role(name=name)
    for key in ("bound_service_account_names", "bound_service_account_namespaces"):
        if fd.is_set(key):
            setattr(role, key, _bound(fd, key))
    if fd.get_str("bound_service_account_namespace_selector").strip():
        raise InvalidRequest(
            "bound_service_account_namespace_selector is not supported; "
            "list the namespaces (globs allowed) in bound_service_account_namespaces"
        )
    if not role.bound_service_account_names:
        raise InvalidRequest('"bound_service_account_names" can not be empty')
    if not role.bound_service_account_namespaces:
        raise InvalidRequest('"bound_service_account_namespaces" can not be empty')
    if fd.is_set("audience"):
        role.audience = fd.get_str("audience").strip()
    if fd.is_set("alias_name_source"):
        source = fd.get_str("alias_name_source") or "serviceaccount_uid"
        if source not in ALIAS_SOURCES:
            raise InvalidRequest(
                f"invalid alias_name_source {source!r}: use one of {', '.join(ALIAS_SOURCES)}"
            )
        role.alias_name_source = source
    role.token.update(fd)
    _deprecated(role, fd)
    b.store.put_role(role)


def _deprecated(role: Role, fd: FieldData) -> None:
    """Vault's older names, applied where the token_* name was not given."""
    for old, new, attr in (("ttl", "token_ttl", "ttl"), ("max_ttl", "token_max_ttl", "max_ttl")):
        if fd.is_set(old) and not fd.is_set(new):
            setattr(role.token, attr, fd.get_duration(old))
    if fd.is_set("num_uses") and not fd.is_set("token_num_uses"):
        role.token.num_uses = fd.get_int("num_uses")
    if fd.is_set("bound_cidrs") and not fd.is_set("token_bound_cidrs"):
        role.token.bound_cidrs = parse_cidrs("bound_cidrs", fd.get_list("bound_cidrs"))
    role.token.check()


def read_role(b: KubernetesBackend, req: Request, fd: FieldData) -> Response | None:
    role = b.store.role(fd.get_str("name"))
    if role is None:
        return None
    data: JSONObject = {
        "bound_service_account_names": list[JSONValue](role.bound_service_account_names),
        "bound_service_account_namespaces": list[JSONValue](role.bound_service_account_namespaces),
        "bound_service_account_namespace_selector": "",
        "audience": role.audience,
        "alias_name_source": role.alias_name_source,
        **role.token.response_data(),
        "ttl": role.token.ttl,
        "max_ttl": role.token.max_ttl,
        "num_uses": role.token.num_uses,
        "bound_cidrs": list[JSONValue](role.token.bound_cidrs),
    }
    return Response(data=data)


def delete_role(b: KubernetesBackend, req: Request, fd: FieldData) -> None:
    b.store.delete_role(fd.get_str("name"))
