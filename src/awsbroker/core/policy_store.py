"""Stored ACL policies and the compiled ACL of a set of policy names.

Policies live behind the barrier as their raw text (returned byte for byte on read). Parsed
policies and compiled ACLs are cached: a view of storage, dropped whole by `forget`, which the
core calls whenever the change counter says a policy may have changed on any node (every
write and delete here is counted by the core). Dropping is cheap: policies change rarely and
ACLs compile in microseconds.
"""

from __future__ import annotations

from awsbroker.policy.acl import ACL
from awsbroker.policy.builtin import (
    DEFAULT_POLICY,
    DEFAULT_POLICY_NAME,
    RESPONSE_WRAPPING_POLICY,
    RESPONSE_WRAPPING_POLICY_NAME,
    ROOT_POLICY,
)
from awsbroker.policy.parse import Policy, normalize_name, parse_policy
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.storage import Storage

_ROOT_ACL = ACL([Policy(name=ROOT_POLICY, rules=(), raw="")])
# Built in and immutable (never in storage), as in Vault.
_RESPONSE_WRAPPING = parse_policy(RESPONSE_WRAPPING_POLICY_NAME, RESPONSE_WRAPPING_POLICY)


class _Cache:
    """Parsed policies and compiled ACLs of one moment. Never emptied, only replaced: an entry
    computed from what storage held before a `forget` lands in the cache it started from,
    which nobody reads any more."""

    def __init__(self) -> None:
        self.parsed: dict[str, Policy] = {}
        self.acls: dict[tuple[str, ...], ACL] = {}


class PolicyStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cache = _Cache()

    def setup(self) -> None:
        """Install the built-in `default` policy the first time (one node does, if several
        start at once); forget caches."""
        self.forget()
        self._storage.compare_and_set(DEFAULT_POLICY_NAME, None, DEFAULT_POLICY.encode())

    def forget(self) -> None:
        """Drop every parsed policy and compiled ACL: the next use reads storage again."""
        self._cache = _Cache()

    def names(self) -> list[str]:
        stored = self._storage.list("")
        return sorted(
            k for k in stored if not k.endswith("/") and k != RESPONSE_WRAPPING_POLICY_NAME
        )

    def get(self, name: str) -> Policy | None:
        name = normalize_name(name)
        if name == RESPONSE_WRAPPING_POLICY_NAME:
            return _RESPONSE_WRAPPING
        cache = self._cache  # before reading storage: see `_Cache`
        cached = cache.parsed.get(name)
        if cached is not None:
            return cached
        blob = self._storage.get(name)
        if blob is None:
            return None
        policy = parse_policy(name, blob.decode())
        cache.parsed[name] = policy
        return policy

    def exists(self, name: str) -> bool:
        return self.get(name) is not None

    def put(self, name: str, text: str) -> Policy:
        name = normalize_name(name)
        if not name:
            raise InvalidRequest("a policy name is required")
        if name == ROOT_POLICY:
            raise InvalidRequest('cannot update "root" policy')  # Vault's words
        if name == RESPONSE_WRAPPING_POLICY_NAME:
            raise InvalidRequest(f'cannot update "{name}" policy')
        policy = parse_policy(name, text)
        self._storage.put(name, text.encode())
        self.forget()
        return policy

    def delete(self, name: str) -> None:
        name = normalize_name(name)
        if name == ROOT_POLICY:
            raise InvalidRequest('cannot delete "root" policy')  # Vault's words
        if name == DEFAULT_POLICY_NAME:
            raise InvalidRequest("cannot delete default policy")
        if name == RESPONSE_WRAPPING_POLICY_NAME:
            raise InvalidRequest(f'cannot delete "{name}" policy')
        self._storage.delete(name)
        self.forget()

    def acl(self, names: list[str]) -> ACL:
        """The ACL of a token's policies. Unknown names contribute nothing (deny by default)."""
        if ROOT_POLICY in names:
            return _ROOT_ACL
        cache = self._cache
        key = tuple(sorted(set(names)))
        acl = cache.acls.get(key)
        if acl is None:
            acl = ACL([p for p in map(self.get, key) if p is not None])
            cache.acls[key] = acl
        return acl


_NAMED_PREFIXES = ("sys/policies/acl/", "sys/policy/")


def acl_path(path: str) -> str:
    """The path the ACL decides a request by: for a policy's endpoint, the name segment as the
    store will use it. Names are trimmed and lowercased when stored, so without this a rule on
    `sys/policies/acl/admin` would not govern a request for `ADMIN` or ` admin`, which reaches
    the same policy."""
    if not path.startswith(_NAMED_PREFIXES):  # nearly every request: one call
        return path
    for prefix in _NAMED_PREFIXES:
        name = path[len(prefix) :]
        if path.startswith(prefix) and "/" not in name:
            return prefix + normalize_name(name)
    return path
