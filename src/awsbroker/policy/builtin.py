"""The built-in policies, and the sudo-protected ("root") path check."""

from __future__ import annotations

from collections.abc import Sequence

ROOT_POLICY = "root"
DEFAULT_POLICY_NAME = "default"
RESPONSE_WRAPPING_POLICY_NAME = "response-wrapping"

# Vault's `response-wrapping` policy, the one policy of a wrapping token (core/wrapping.py):
# built in, never stored, listed, changed or deleted, and not assignable to other tokens.
RESPONSE_WRAPPING_POLICY = """
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

path "auth/token/revoke-self" {
    capabilities = ["update"]
}
"""

# Vault's `default` policy, less the identity, control-group, MFA and OIDC paths that awsbroker
# does not serve. Attached to every token unless it was created with no_default_policy.
DEFAULT_POLICY = """\
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to read the OpenAPI description of the server's paths (Vault serves it to
# anyone; awsbroker grants it through this policy, so deny-by-default holds)
path "sys/internal/specs/openapi" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow a token to list the leases it created, and revoke one of them (awsbroker's own
# paths, for the web console; docs/compatibility.md)
path "sys/leases/self" {
    capabilities = ["read"]
}
path "sys/leases/self/revoke" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}
"""


def is_root_path(path: str, root_globs: Sequence[str]) -> bool:
    """Whether `path` is sudo-protected: a glob ending in `*` matches by prefix, others exactly."""
    path = path.lstrip("/")
    for glob in root_globs:
        if glob.endswith("*"):
            if path.startswith(glob[:-1]):
                return True
        elif path == glob:
            return True
    return False
