"""A login's token: what the core makes of the `Auth` an auth method's login answers.

The method says who logged in and what the token may do; the core creates the token, as
Vault's `handleLoginRequest` does: an orphan service token whose path is the login's path,
display name `<mount path>-<method's name>`, policies plus `default` (unless the role says
not), TTLs capped by the mount's max (tuned, else the server's), and the mount's uuid so that
disabling the mount revokes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from awsbroker.core.mounts import AUTH_PREFIX, MountEntry
from awsbroker.core.path_token import auth_block, normalize_policies
from awsbroker.core.tokens import TokenEntry, TokenStore, random_id
from awsbroker.sdk.errors import InternalError, InvalidRequest
from awsbroker.sdk.logical import Auth


@dataclass(frozen=True)
class Limits:
    """The auth mount's effective default and max TTL (tuned, else the server's)."""

    default_ttl: int
    max_ttl: int


def display_name(mount_path: str, name: str) -> str:
    source = mount_path.removeprefix(AUTH_PREFIX).replace("/", "-")
    return re.sub(r"-+$", "", source + name)


def token_from_login(
    store: TokenStore, mount: MountEntry, login_path: str, auth: Auth, limits: Limits
) -> tuple[TokenEntry, str, list[str]]:
    """Create the token of a login; returns it, its ID and warnings."""
    if auth.client_token:
        raise InternalError("an auth method answered a login with a token of its own")
    policies = normalize_policies(auth.policies)
    if "root" in policies:
        raise InvalidRequest("auth methods cannot create root tokens")
    if not auth.no_default_policy:
        policies = sorted({*policies, "default"})
    warnings: list[str] = []
    now = store.clock.now()
    max_ttl = limits.max_ttl
    if auth.max_ttl and auth.max_ttl < max_ttl:
        max_ttl = auth.max_ttl
    if auth.period:
        ttl = auth.period
    else:
        ttl = auth.ttl or limits.default_ttl
        if max_ttl and ttl > max_ttl:
            warnings.append(f"TTL of {ttl}s exceeded the effective max_ttl of {max_ttl}s; capped")
            ttl = max_ttl
    if auth.explicit_max_ttl and ttl > auth.explicit_max_ttl:
        ttl = auth.explicit_max_ttl
    token = store.new_token()
    entry = TokenEntry(
        hash=store.hash(token),
        accessor=random_id(24),
        policies=policies,
        path=login_path,
        display_name=display_name(mount.path, auth.display_name),
        creation_time=now,
        ttl=ttl,
        creation_ttl=ttl,
        explicit_max_ttl=auth.explicit_max_ttl,
        period=auth.period,
        renewable=auth.renewable,
        num_uses=auth.num_uses,
        meta=dict(auth.metadata) if auth.metadata else None,
        expire_time=now + ttl if ttl else 0.0,
        mount_uuid=mount.uuid,
        max_ttl=0 if auth.period else max_ttl,
        bound_cidrs=list(auth.bound_cidrs) or None,
        internal=dict(auth.internal_data) or None,
    )
    store.create(entry)
    return entry, token, warnings


def login_auth(entry: TokenEntry, token: str) -> Auth:
    """The `auth` block a login answers."""
    return auth_block(entry, token)
