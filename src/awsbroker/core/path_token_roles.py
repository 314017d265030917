"""`auth/token/roles` and `auth/token/roles/:name`: token roles, with Vault's fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.token_roles import ROLE_TOKEN_TYPES, TokenRole
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path, list_response
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response
from awsbroker.sdk.token_fields import BATCH_REFUSED, TOKEN_FIELDS

if TYPE_CHECKING:
    from awsbroker.core.path_token import TokenBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ROLE_NAME = r"(?P<role_name>\w(?:[\w.-]*\w)?)"
# The token fields Vault's token roles take (no TTL, max TTL or policies: those come from the
# request, the token store's tuning and the allowed lists).
_TOKEN_FIELD_NAMES = (
    "token_period",
    "token_explicit_max_ttl",
    "token_num_uses",
    "token_bound_cidrs",
    "token_no_default_policy",
    "token_type",
    "period",
)
# Vault's deprecated names of token role fields, and the field each stands for.
_ALIASES = {"explicit_max_ttl": "token_explicit_max_ttl", "bound_cidrs": "token_bound_cidrs"}
_LISTS = (
    "allowed_policies",
    "disallowed_policies",
    "allowed_policies_glob",
    "disallowed_policies_glob",
    "allowed_entity_aliases",
)
ROLE_FIELDS: dict[str, Field] = {
    "role_name": Field(T.STRING, "Name of the role", required=True),
    "allowed_policies": Field(T.STRING_LIST, "Policies tokens of the role may have"),
    "disallowed_policies": Field(T.STRING_LIST, "Policies tokens of the role may never have"),
    "allowed_policies_glob": Field(T.STRING_LIST, "Globs of policies tokens may have"),
    "disallowed_policies_glob": Field(T.STRING_LIST, "Globs of policies tokens may never have"),
    "allowed_entity_aliases": Field(T.STRING_LIST, "Accepted and stored (no identity store)"),
    "orphan": Field(T.BOOL, "Tokens of the role have no parent"),
    "renewable": Field(T.BOOL, "Tokens of the role may be renewed", default=True),
    "path_suffix": Field(T.STRING, "Appended to the tokens' path, for revocation by prefix"),
    "explicit_max_ttl": Field(T.DURATION, "Deprecated: use token_explicit_max_ttl"),
    "bound_cidrs": Field(T.STRING_LIST, "Deprecated: use token_bound_cidrs"),
    **{name: TOKEN_FIELDS[name] for name in _TOKEN_FIELD_NAMES},
    "token_type": Field(T.STRING, "'service' or 'default-service' (no batch tokens)"),
}


def paths() -> list[Path[TokenBackend]]:
    return [
        Path("roles/?", {L: list_roles}, summary="List token roles"),
        Path(
            f"roles/{ROLE_NAME}",
            {R: read_role, U: write_role, D: delete_role},
            ROLE_FIELDS,
            existence_check=role_exists,
            summary="Create, read, update or delete a token role",
        ),
    ]


def role_exists(b: TokenBackend, req: Request, fd: FieldData) -> bool:
    return b.store.roles.get(fd.get_str("role_name")) is not None


def list_roles(b: TokenBackend, req: Request, fd: FieldData) -> Response:
    names = b.store.roles.names()
    return list_response(names)


def _sanitize(names: list[str]) -> list[str]:
    return sorted({n.strip().lower() for n in names if n.strip()})


def _token_params_data(req: Request) -> JSONObject:
    """The request's token fields under their token_* names (a deprecated name when the new
    one is absent), without token_type, which token roles spell their own way."""
    data: JSONObject = {}
    for name in _TOKEN_FIELD_NAMES:
        if name != "token_type" and req.data.get(name) is not None:
            data[name] = req.data[name]
    for old, new in _ALIASES.items():
        if req.data.get(old) is not None and new not in data:
            data[new] = req.data[old]
    return data


def _token_type(value: str) -> str:
    value = value.strip().lower()
    if value in ("batch", "default-batch"):
        raise InvalidRequest(BATCH_REFUSED.replace("'default'", "'default-service'"))
    if value == "default":
        return "default-service"
    if value not in ROLE_TOKEN_TYPES:
        raise InvalidRequest(f"invalid token_type {value!r}: use 'service' or 'default-service'")
    return value


def _path_suffix(value: str) -> str:
    suffix = value.strip().strip("/")
    if ".." in suffix:
        raise InvalidRequest("path_suffix cannot contain '..'")
    if any(not (c.isalnum() or c in "-_./") for c in suffix) or "//" in suffix:
        raise InvalidRequest(
            f"invalid path_suffix {value!r}: use letters, digits and '-', '_', '.', '/'"
        )
    return suffix


def write_role(b: TokenBackend, req: Request, fd: FieldData) -> Response | None:
    name = fd.get_str("role_name")
    role = b.store.roles.get(name) or TokenRole(name=name)
    for key in _LISTS:
        if fd.is_set(key):
            setattr(role, key, _sanitize(fd.get_list(key)))
    if fd.is_set("orphan"):
        role.orphan = fd.get_bool("orphan")
    if fd.is_set("renewable"):
        role.renewable = fd.get_bool("renewable")
    if fd.is_set("path_suffix"):
        role.path_suffix = _path_suffix(fd.get_str("path_suffix"))
    if fd.is_set("token_type"):
        role.token_type = _token_type(fd.get_str("token_type"))
    role.token.update(FieldData(TOKEN_FIELDS, _token_params_data(req)))
    b.store.roles.put(role)
    # Fields a token role does not take (an auth role's `token_ttl`...) come back as a warning.
    return Response() if fd.unknown else None


def read_role(b: TokenBackend, req: Request, fd: FieldData) -> Response | None:
    role = b.store.roles.get(fd.get_str("role_name"))
    if role is None:
        return None
    token = role.token
    data: JSONObject = {
        "name": role.name,
        **{key: list[JSONValue](getattr(role, key)) for key in _LISTS},
        "orphan": role.orphan,
        "renewable": role.renewable,
        "path_suffix": role.path_suffix,
        "token_type": role.token_type,
        "token_period": token.period,
        "period": token.period,
        "token_explicit_max_ttl": token.explicit_max_ttl,
        "explicit_max_ttl": token.explicit_max_ttl,
        "token_no_default_policy": token.no_default_policy,
    }
    if token.num_uses:
        data["token_num_uses"] = token.num_uses
    if token.bound_cidrs:
        data["token_bound_cidrs"] = list[JSONValue](token.bound_cidrs)
        data["bound_cidrs"] = list[JSONValue](token.bound_cidrs)
    return Response(data=data)


def delete_role(b: TokenBackend, req: Request, fd: FieldData) -> None:
    b.store.roles.delete(fd.get_str("role_name"))
