"""`login`: a role ID and (when the role binds one) a secret ID in, an `Auth` out.

Every failure to match (no such role ID, no such secret ID, expired, used up, or a client
address outside the secret ID's or role's CIDR blocks) answers the same 400, "invalid role or
secret ID", so a caller learns nothing about which part was wrong. A secret ID's uses are
spent by compare-and-set of its record: logins racing on any nodes for the last use of a
secret ID get exactly one token between them.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from awsbroker.auth.approle.store import Role, SecretID
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.fields import Field, FieldData
from awsbroker.sdk.fields import FieldType as T
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import Auth, Operation, Request, Response
from awsbroker.sdk.records import dump, load
from awsbroker.sdk.storage import update
from awsbroker.sdk.token_fields import address_in

if TYPE_CHECKING:
    from awsbroker.auth.approle.backend import AppRoleBackend

INVALID = "invalid role or secret ID"


def paths() -> list[Path[AppRoleBackend]]:
    return [
        Path(
            "login",
            {Operation.UPDATE: login},
            {
                "role_id": Field(T.STRING, "The role's role ID"),
                "secret_id": Field(T.STRING, "A secret ID of the role"),
            },
            summary="Log in with a role ID and a secret ID",
        )
    ]


class _Refused(Exception):
    """The secret ID does not let this login in (the reason is not told)."""


def login(b: AppRoleBackend, req: Request, fd: FieldData) -> Response:
    if not fd.get_str("role_id"):
        raise InvalidRequest("missing role_id")
    role = b.store.role_by_id(fd.get_str("role_id"))
    if role is None:
        raise InvalidRequest(INVALID)
    if role.secret_id_bound_cidrs and not address_in(
        req.remote_address, role.secret_id_bound_cidrs
    ):
        raise InvalidRequest(INVALID)
    secret: SecretID | None = None
    if role.bind_secret_id:
        if not fd.get_str("secret_id"):
            raise InvalidRequest("missing secret_id")
        # Last: a login refused for any other reason must not spend a use.
        secret = _spend(b, role, fd.get_str("secret_id"), req.remote_address)
    auth = Auth(internal_data={"role_name": role.name})
    role.token.apply(auth)
    metadata = {"role_name": role.name}
    if secret is not None:
        metadata = {**secret.metadata, **metadata}
        if secret.token_bound_cidrs:
            auth.bound_cidrs = list(secret.token_bound_cidrs)
    auth.metadata = metadata
    return Response(auth=auth)


def renew(b: AppRoleBackend, req: Request, auth: Auth) -> Auth:
    """A login's token is renewed only while its role exists with the same policies (the
    `default` policy aside), as Vault's AppRole renews."""
    role = b.store.role(str(auth.internal_data.get("role_name", "")))
    if role is None:
        raise InvalidRequest("role no longer exists; the token cannot be renewed")
    if set(role.token.policies) - {"default"} != set(auth.policies) - {"default"}:
        raise InvalidRequest("policies have changed, not renewing")
    # Vault's pathLoginRenew: the renewal takes the role's TTLs as they are now.
    auth.ttl, auth.max_ttl = role.token.ttl, role.token.max_ttl
    auth.period = role.token.period
    return auth


def _spend(b: AppRoleBackend, role: Role, value: str, address: str) -> SecretID:
    """Check the secret ID and spend one of its uses (the last one deletes it)."""
    secret_hmac = b.store.hmac(value)
    key = b.store.secret_key(role.name, secret_hmac)
    now = b.now()
    seen: list[SecretID] = []

    def spend(blob: bytes | None) -> bytes | None:
        seen.clear()
        if blob is None:
            raise _Refused()
        secret = SecretID.from_record(load(blob))
        if not hmac.compare_digest(secret.secret_id_hmac, secret_hmac):
            raise _Refused()
        if secret.expired(now):
            raise _Refused()
        if secret.cidr_list and not address_in(address, secret.cidr_list):
            raise _Refused()
        seen.append(secret)
        if secret.num_uses == 0:
            return blob
        if secret.num_uses == 1:
            return None
        secret.num_uses -= 1
        secret.last_updated_time = now
        return dump(secret.to_record())

    try:
        after = update(b.store.storage, key, spend)
    except _Refused:
        raise InvalidRequest(INVALID) from None
    secret = seen[0]
    if after is None:  # that was its last use
        b.store.storage.delete(f"accessor/{b.store.hmac(secret.accessor)}")
    return secret
