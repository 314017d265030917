"""The read-only identity of a request's caller (`sdk.logical.CallerIdentity`), from the token
the core authorized. Backends get this, never the token: engines shape credentials by it (the
AWS engine's session tags and names, docs/session-tags.md)."""

from __future__ import annotations

from awsbroker.core.router import Router
from awsbroker.core.tokens import TokenEntry
from awsbroker.sdk.logical import CallerIdentity


def caller_identity(entry: TokenEntry, router: Router) -> CallerIdentity:
    """`entry`'s identity. Its auth mount is the mount its creation path falls under
    (`auth/token/create` → `auth/token/`, `auth/approle/login` → `auth/approle/`)."""
    route = router.match(entry.path)
    if route is not None and not route.mount_path.startswith("auth/"):
        route = None  # tokens are made only under auth/: never name a secrets mount
    return CallerIdentity(
        display_name=entry.display_name,
        metadata=dict(entry.meta or {}),
        policies=tuple(entry.policies),
        auth_mount_path=route.mount_path if route is not None else "",
        auth_mount_type=route.entry.type if route is not None else "",
        auth_mount_accessor=route.entry.accessor if route is not None else "",
    )
