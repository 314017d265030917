"""Stored ACL policies and the compiled ACL of a set of policy names.

Policies live behind the barrier as their raw text (returned byte for byte on read). Parsed
policies and compiled ACLs are cached; any write or delete drops the ACL cache, which is cheap
because policies change rarely and ACLs compile in microseconds.
"""

from __future__ import annotations

import threading

from awsbroker.policy.acl import ACL
from awsbroker.policy.builtin import DEFAULT_POLICY, DEFAULT_POLICY_NAME, ROOT_POLICY
from awsbroker.policy.parse import Policy, normalize_name, parse_policy
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.storage import Storage

_ROOT_ACL = ACL([Policy(name=ROOT_POLICY, rules=(), raw="")])


class PolicyStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        self._parsed: dict[str, Policy] = {}
        self._acls: dict[tuple[str, ...], ACL] = {}

    def setup(self) -> None:
        """Install the built-in `default` policy the first time; forget caches."""
        with self._lock:
            self._parsed.clear()
            self._acls.clear()
        if self._storage.get(DEFAULT_POLICY_NAME) is None:
            self._storage.put(DEFAULT_POLICY_NAME, DEFAULT_POLICY.encode())

    def names(self) -> list[str]:
        return sorted(k for k in self._storage.list("") if not k.endswith("/"))

    def get(self, name: str) -> Policy | None:
        name = normalize_name(name)
        cached = self._parsed.get(name)
        if cached is not None:
            return cached
        blob = self._storage.get(name)
        if blob is None:
            return None
        policy = parse_policy(name, blob.decode())
        with self._lock:
            self._parsed[name] = policy
        return policy

    def exists(self, name: str) -> bool:
        return self.get(name) is not None

    def put(self, name: str, text: str) -> Policy:
        name = normalize_name(name)
        if not name:
            raise InvalidRequest("a policy name is required")
        if name == ROOT_POLICY:
            raise InvalidRequest("cannot update root policy")
        policy = parse_policy(name, text)
        self._storage.put(name, text.encode())
        self._forget(name)
        return policy

    def delete(self, name: str) -> None:
        name = normalize_name(name)
        if name == ROOT_POLICY:
            raise InvalidRequest("cannot delete root policy")
        if name == DEFAULT_POLICY_NAME:
            raise InvalidRequest("cannot delete default policy")
        self._storage.delete(name)
        self._forget(name)

    def acl(self, names: list[str]) -> ACL:
        """The ACL of a token's policies. Unknown names contribute nothing (deny by default)."""
        if ROOT_POLICY in names:
            return _ROOT_ACL
        key = tuple(sorted(set(names)))
        acl = self._acls.get(key)
        if acl is None:
            acl = ACL([p for p in map(self.get, key) if p is not None])
            with self._lock:
                self._acls[key] = acl
        return acl

    def _forget(self, name: str) -> None:
        with self._lock:
            self._parsed.pop(name, None)
            self._acls.clear()
