"""`login`: a JWT and (unless the config has a `default_role`) a role in, an `Auth` out.

The config and the role are read from storage on every login, so what was written on any node
is what is checked. The token's identity becomes the token's: the `user_claim` its display
name (Vault's alias name), `claim_mappings` and `role` its metadata, the `groups_claim` names
the metadata key `groups` (comma-separated: mapping groups to policies waits for identity
groups), and the role's token fields its policies and TTLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.auth.jwt.path_role import GROUPS_METADATA
from awsbroker.auth.jwt.store import StoredRole
from awsbroker.auth.jwt.verify import LoginIdentity, verify_login
from awsbroker.sdk.errors import InvalidRequest, PermissionDenied
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Auth, Operation, Request, Response
from awsbroker.sdk.token_fields import address_in

if TYPE_CHECKING:
    from awsbroker.auth.jwt.backend import JwtBackend


def paths() -> list[Path[JwtBackend]]:
    return [
        Path(
            "login",
            {Operation.UPDATE: login},
            {
                "role": Field(T.STRING, "The role to log in with; the config's default_role"),
                "jwt": Field(T.STRING, "The signed JSON Web Token"),
            },
            summary="Log in with a JSON Web Token",
        )
    ]


def login(b: JwtBackend, req: Request, fd: FieldData) -> Response:
    stored = b.store.config()
    if stored is None:
        raise InvalidRequest("could not load configuration")
    role_name = fd.get_str("role") or stored.default_role
    if not role_name:
        raise InvalidRequest("missing role")
    found = b.store.role(role_name)
    if found is None:
        raise InvalidRequest(f"role {role_name!r} could not be found")
    role, token = found.role, found.token
    if role.role_type == "oidc":
        raise InvalidRequest("role with oidc role_type is not allowed")
    if not fd.get_str("jwt"):
        raise InvalidRequest("missing token")
    if token.bound_cidrs and not address_in(req.remote_address, token.bound_cidrs):
        raise PermissionDenied()
    keys = stored.config.key_lookup(b.key_sets(stored.blob))
    identity = verify_login(fd.get_str("jwt"), stored.config, role, keys, b.now())
    return Response(auth=auth_for(found, identity))


def auth_for(found: StoredRole, identity: LoginIdentity) -> Auth:
    """The `Auth` of a verified login: the role's token fields, the alias name as display
    name, the mapped claims, `role` and `groups` as metadata."""
    metadata = dict(identity.metadata)
    if found.role.groups_claim:
        metadata[GROUPS_METADATA] = ",".join(identity.groups)
    auth = Auth(internal_data={"role": found.role.name})
    found.token.apply(auth)
    auth.display_name = identity.alias_name
    auth.metadata = metadata
    return auth


def renew(b: JwtBackend, req: Request, auth: Auth) -> Auth:
    """A login's token is renewed only while its role exists with the same policies (the
    `default` policy aside), as Vault's `jwt` plugin renews."""
    name = str(auth.internal_data.get("role", ""))
    found = b.store.role(name)
    if found is None:
        raise InvalidRequest(f"role {name!r} no longer exists")
    if set(found.token.policies) - {"default"} != set(auth.policies) - {"default"}:
        raise InvalidRequest("policies have changed, not renewing")
    # Vault's pathLoginRenew: the renewal takes the role's TTLs as they are now.
    auth.ttl, auth.max_ttl = found.token.ttl, found.token.max_ttl
    auth.period = found.token.period
    return auth
