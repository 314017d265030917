"""Tokens seen through the lease API (`sys/leases/*`), as Vault's tokens have leases.

Vault registers a lease for every token with a TTL, its ID the token's creation path and a
salted hash of the token (`auth/token/create/h<hash>`). Here a token is its own lease: the ID
is `<token path>/h<token HMAC>`, the HMAC under which the token store keeps it (tokens.py), so
nothing is stored twice and a token's lease lives and dies with its record on every node. The
HMAC is keyed by a salt behind the barrier: it does not reveal the token, and cannot be used as
one (a request's token is hashed, never compared with a lease ID).

Only expiring tokens are listed (the path index holds only those), as only they have leases in
Vault. A token renewal goes through `auth/token/renew*`: `sys/leases/renew` refuses token
leases with Vault's words.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from awsbroker.core.tokens import TokenEntry

if TYPE_CHECKING:
    from awsbroker.core.core import Core

_LEASE_ID = re.compile(r"^(auth/.+)/h([0-9a-f]{64})$")


def lease_id(token: TokenEntry) -> str:
    return f"{token.path.strip('/')}/h{token.hash}"


def find(core: Core, lease: str) -> TokenEntry | None:
    """The live, expiring token whose lease ID is `lease` (or was, under an auth mount's path
    before `sys/remount` moved it)."""
    match = _LEASE_ID.match(lease)
    if match is None:
        return None
    token = core.tokens.get_by_hash(match.group(2))
    if token is None or not token.expire_time:
        return None
    current = lease_id(token)
    if lease == current or current in core.expiration.moved_ids(lease):
        return token
    return None


def list_children(core: Core, prefix: str) -> list[str]:
    """The token leases and deeper paths right under `prefix` (ending in '/', or '')."""
    if prefix and not prefix.startswith("auth/"):
        return []
    return [
        key if key.endswith("/") else f"h{key}"
        for key in core.tokens.list_path(prefix)
        if key.endswith("/") or len(key) == 64
    ]
