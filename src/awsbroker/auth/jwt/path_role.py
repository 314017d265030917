"""`role/` and `role/:name`: a JWT mount's roles, with Vault's fields and the token fields
common to every auth method. A write creates the role or changes the fields it names."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from awsbroker.auth.jwt.role import JwtRole
from awsbroker.auth.jwt.store import StoredRole
from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path, list_response
from awsbroker.sdk.logical import Operation, Request, Response
from awsbroker.sdk.token_fields import TOKEN_FIELDS

if TYPE_CHECKING:
    from awsbroker.auth.jwt.backend import JwtBackend

R, U, D, L = Operation.READ, Operation.UPDATE, Operation.DELETE, Operation.LIST
ROLE_NAME = r"(?P<name>\w(?:[\w.-]*\w)?)"
# The metadata key a login records the `groups_claim` names under (comma-separated).
GROUPS_METADATA = "groups"

_LEEWAYS = ("clock_skew_leeway", "expiration_leeway", "not_before_leeway")
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(T.STRING, "Name of the role", required=True),
    "role_type": Field(T.STRING, "'jwt' (a token in a login) or 'oidc' (the browser flow)"),
    "bound_audiences": Field(T.STRING_LIST, "Audiences (aud) a token must name one of"),
    "bound_subject": Field(T.STRING, "The subject (sub) a token must name"),
    "bound_claims": Field(T.OBJECT, "Claims a token must carry, each a value or a list"),
    "bound_claims_type": Field(T.STRING, "'string' (exact) or 'glob' ('*' wildcards)"),
    "user_claim": Field(T.STRING, "The claim naming the user: the token's display name"),
    "user_claim_json_pointer": Field(T.BOOL, "user_claim is a JSON pointer"),
    "claim_mappings": Field(T.MAP, "Claims copied into the token's metadata: claim=key"),
    "groups_claim": Field(T.STRING, "The claim listing the user's groups"),
    "allowed_redirect_uris": Field(T.STRING_LIST, "Redirect URIs of the OIDC browser flow"),
    "oidc_scopes": Field(T.STRING_LIST, "Scopes the OIDC browser flow asks for besides openid"),
    **{name: Field(T.STRING, "Seconds (or a duration); -1 for none") for name in _LEEWAYS},
    **TOKEN_FIELDS,
}


def paths() -> list[Path[JwtBackend]]:
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


def role_exists(b: JwtBackend, req: Request, fd: FieldData) -> bool:
    return b.store.role(fd.get_str("name")) is not None


def list_roles(b: JwtBackend, req: Request, fd: FieldData) -> Response:
    names = b.store.role_names()
    return list_response(names)


def read_role(b: JwtBackend, req: Request, fd: FieldData) -> Response | None:
    stored = b.store.role(fd.get_str("name"))
    if stored is None:
        return None
    return Response(data={**stored.role.to_response(), **stored.token.response_data()})


def delete_role(b: JwtBackend, req: Request, fd: FieldData) -> None:
    b.store.delete_role(fd.get_str("name"))


def write_role(b: JwtBackend, req: Request, fd: FieldData) -> None:
    name = fd.get_str("name")
    stored = b.store.role(name) or StoredRole(JwtRole(name=name, user_claim=""))
    role = dataclasses.replace(stored.role, **_changes(fd))
    stored.token.update(fd)
    role.validate(stored.token.bound_cidrs)
    if role.groups_claim and GROUPS_METADATA in role.claim_mappings.values():
        raise InvalidRequest(
            f"metadata key {GROUPS_METADATA!r} holds the groups_claim names and may not be"
            " a mapping destination"
        )
    b.store.put_role(StoredRole(role, stored.token))


def _changes(fd: FieldData) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("role_type", "bound_subject", "bound_claims_type", "user_claim", "groups_claim"):
        if fd.is_set(name):
            changes[name] = fd.get_str(name)
    for name in ("bound_audiences", "allowed_redirect_uris", "oidc_scopes"):
        if fd.is_set(name):
            changes[name] = tuple(fd.get_list(name))
    if fd.is_set("user_claim_json_pointer"):
        changes["user_claim_json_pointer"] = fd.get_bool("user_claim_json_pointer")
    if fd.is_set("bound_claims"):
        changes["bound_claims"] = fd.get_object("bound_claims")
    if fd.is_set("claim_mappings"):
        changes["claim_mappings"] = fd.get_map("claim_mappings")
    for name in _LEEWAYS:
        if fd.is_set(name):
            changes[name] = _seconds(name, fd.get_str(name))
    return changes


def _seconds(name: str, value: str) -> int:
    """A leeway: whole seconds (negative for none) or a duration such as `90s`."""
    text = value.strip()
    try:
        if text.lstrip("-").isdigit():
            return int(text)
        return parse_duration(text)
    except ValueError:
        raise InvalidRequest(f"invalid {name} {value!r}: give seconds or a duration") from None
