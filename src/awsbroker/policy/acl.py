"""The ACL: a set of policies compiled once, then asked about paths. After Vault's `vault/acl.go`.

Lookup order for a request path (leading `/` stripped):

1. An exact rule for the path wins outright. A LIST also tries the path less one trailing `/`.
2. Otherwise the single highest-priority matching glob (`*`) or segment-wildcard (`+`) rule wins
   (a LIST ending in `/` first tries the path without it). Only that pattern counts.
3. Nothing matches: deny.

Rules for the same pattern in several policies (or blocks) are merged when the ACL is built:
capabilities are unioned, and `deny` absorbs everything else, sudo included. So are parameter
constraints (`parameters.py`), which then apply to reads, creates and updates of the pattern.

A pattern's `min_wrapping_ttl` and `max_wrapping_ttl` (merged as Vault merges them: the lesser of
each) refuse a request that is not response-wrapped within them (`X-Vault-Wrap-TTL`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from awsbroker.policy.parameters import ParameterRules, ParameterRulesBuilder
from awsbroker.policy.parse import PathRule, Policy
from awsbroker.sdk.logical import JSONValue, Operation

ROOT_CAPABILITY = "root"
DENY_CAPABILITY = "deny"

_OPERATION_CAPABILITY: dict[Operation, str] = {
    Operation.READ: "read",
    Operation.LIST: "list",
    Operation.CREATE: "create",
    Operation.UPDATE: "update",
    Operation.DELETE: "delete",
    Operation.HEAD: "read",
}
# Vault checks parameters on the operations that carry data a handler acts on (read's are the
# query string); HEAD is a read here. List and delete are not checked, as in Vault.
_CHECKS_PARAMETERS = frozenset({Operation.READ, Operation.CREATE, Operation.UPDATE, Operation.HEAD})
_NO_DATA: Mapping[str, JSONValue] = MappingProxyType({})


@dataclass(frozen=True)
class Decision:
    """The answer for one (path, operation).

    `capabilities` are those of the winning rule (`{"deny"}` if it denies, empty if nothing
    matched, `{"root"}` for a root ACL). `sudo` is the winning rule's sudo, granted or not the
    operation. `granting_policies` names the policies that granted the needed capability.
    `parameters` are the winning rule's parameter constraints (None: it has none); a request
    whose data they refuse is not `allowed`.
    """

    allowed: bool
    is_root: bool = False
    sudo: bool = False
    capabilities: frozenset[str] = frozenset()
    granting_policies: tuple[str, ...] = ()
    parameters: ParameterRules | None = None


_ROOT_DECISION = Decision(True, True, True, frozenset({ROOT_CAPABILITY}), (ROOT_CAPABILITY,))
_NO_DECISION = Decision(False)


@dataclass(frozen=True, eq=False)
class _Grant:
    """Merged permissions of one pattern: capabilities, which policies gave each one, and the
    parameter constraints."""

    capabilities: frozenset[str]
    granted_by: Mapping[str, tuple[str, ...]]
    parameters: ParameterRules | None
    min_wrapping_ttl: int = 0
    max_wrapping_ttl: int = 0
    _decisions: dict[str, Decision] = field(default_factory=dict, repr=False)

    def decision(self, capability: str) -> Decision:
        """The answer for a request that needs `capability`, before parameters are checked.
        Made once per capability: it is immutable, and every request asks for one."""
        decision = self._decisions.get(capability)
        if decision is None:
            allowed = capability in self.capabilities
            decision = Decision(
                allowed=allowed,
                sudo="sudo" in self.capabilities,
                capabilities=self.capabilities,
                granting_policies=self.granted_by.get(capability, ()) if allowed else (),
                parameters=self.parameters,
            )
            self._decisions[capability] = decision
        return decision


class _GrantBuilder:
    def __init__(self) -> None:
        self.capabilities: set[str] = set()
        self.granted_by: dict[str, list[str]] = {}
        self.parameters = ParameterRulesBuilder()
        self.min_wrapping_ttl = 0
        self.max_wrapping_ttl = 0

    def add(self, policy: str, rule: PathRule) -> None:
        if DENY_CAPABILITY in self.capabilities:
            return
        if DENY_CAPABILITY in rule.capabilities:
            # A deny refuses every request, so nothing else about the pattern matters.
            self.capabilities = {DENY_CAPABILITY}
            self.granted_by = {}
            self.parameters = ParameterRulesBuilder()
            return
        self.capabilities |= rule.capabilities
        for cap in rule.capabilities:
            names = self.granted_by.setdefault(cap, [])
            if policy not in names:
                names.append(policy)
        self.parameters.add(rule)
        # Vault keeps the lesser of two maxima, and the lesser of two minima.
        self.max_wrapping_ttl = _lesser(self.max_wrapping_ttl, rule.max_wrapping_ttl)
        self.min_wrapping_ttl = _lesser(self.min_wrapping_ttl, rule.min_wrapping_ttl)

    def build(self) -> _Grant:
        granted_by = {cap: tuple(names) for cap, names in self.granted_by.items()}
        return _Grant(
            frozenset(self.capabilities),
            granted_by,
            self.parameters.build(),
            self.min_wrapping_ttl,
            self.max_wrapping_ttl,
        )


def _lesser(current: int, new: int) -> int:
    """The lesser of two set TTLs (0: not set)."""
    return new if new and (not current or new < current) else current


def _wrapping_refused(grant: _Grant, wrap_ttl: int) -> bool:
    """Whether the pattern's wrapping TTLs refuse a request wrapped for `wrap_ttl` (0: not
    wrapped), as Vault's `AllowOperation`."""
    low, high = grant.min_wrapping_ttl, grant.max_wrapping_ttl
    if high and (not wrap_ttl or wrap_ttl > high):
        return True
    if low and (not wrap_ttl or wrap_ttl < low):
        return True
    return bool(low and high and high < low)


@dataclass(frozen=True, eq=False)
class _WildcardRule:
    """A `+` pattern, split into segments. `priority` sorts higher for preferred patterns."""

    segments: tuple[str, ...]
    is_prefix: bool
    priority: tuple[int, int, int, int, str]
    grant: _Grant

    def matches(self, parts: list[str]) -> bool:
        """Vault's segment match: `+` takes any one segment; a prefix pattern's last segment
        is a string prefix of the path's segment at that position."""
        count = len(self.segments)
        if len(parts) < count or (not self.is_prefix and len(parts) != count):
            return False
        last = count - 1
        for i, seg in enumerate(self.segments):
            if seg in ("+", parts[i]):
                continue
            if self.is_prefix and i == last and parts[i].startswith(seg):
                continue
            return False
        return True


def _priority(
    first_wildcard: int, is_prefix: bool, wildcards: int, path: str
) -> tuple[int, int, int, int, str]:
    """Vault's order as a sort key, higher is preferred: a later first wildcard; not a prefix;
    fewer `+` segments; longer; lexicographically greater. `path` excludes a trailing `*`."""
    return (first_wildcard, 0 if is_prefix else 1, -wildcards, len(path), path)


class ACL:
    """Policies compiled for lookups.

    Costs, for a path of length L: exact rules are one dict lookup, O(L). Prefix globs are kept
    in a dict keyed by prefix plus the distinct prefix lengths, longest first; the longest
    matching prefix is found in O(D * L), D being the number of distinct prefix lengths. `+`
    rules are a list sorted by priority and scanned in O(W * L), stopping at the first match
    or once no remaining rule could beat the prefix candidate. Building is O(total rules).
    A pattern's `Decision` for a capability is made at its first use and shared after; a rule
    with parameter constraints then checks the request's data, in O(size of the data).
    """

    __slots__ = ("_exact", "_prefix", "_prefix_lengths", "_wildcards", "is_root")

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.is_root = any(p.name == ROOT_CAPABILITY for p in policies)
        exact: dict[str, _GrantBuilder] = {}
        prefix: dict[str, _GrantBuilder] = {}
        wildcard: dict[str, _GrantBuilder] = {}
        for policy in policies:
            for rule in policy.rules:
                table = _table_for(rule, exact, prefix, wildcard)
                key = rule.pattern if table is wildcard else rule.pattern.removesuffix("*")
                table.setdefault(key, _GrantBuilder()).add(policy.name, rule)
        self._exact = {path: b.build() for path, b in exact.items()}
        self._prefix = {path: b.build() for path, b in prefix.items()}
        self._prefix_lengths = sorted({len(p) for p in self._prefix}, reverse=True)
        self._wildcards = sorted(
            (_compile_wildcard(pattern, b.build()) for pattern, b in wildcard.items()),
            key=lambda r: r.priority,
            reverse=True,
        )

    def allowed(
        self,
        path: str,
        operation: Operation,
        data: Mapping[str, JSONValue] = _NO_DATA,
        wrap_ttl: int = 0,
    ) -> Decision:
        """May `operation` be done on `path` with request data `data` (its body or query),
        its response wrapped for `wrap_ttl` seconds (0: not wrapped)?"""
        if self.is_root:
            return _ROOT_DECISION
        grant = self._lookup(path.lstrip("/"), is_list=operation is Operation.LIST)
        if grant is None:
            return _NO_DECISION
        decision = grant.decision(_OPERATION_CAPABILITY.get(operation, operation.value))
        wraps = grant.min_wrapping_ttl or grant.max_wrapping_ttl
        if decision.allowed and wraps and _wrapping_refused(grant, wrap_ttl):
            return dataclasses.replace(decision, allowed=False, granting_policies=())
        # Most rules have no parameter constraint: then this costs one `is None`.
        if (
            decision.allowed
            and grant.parameters is not None
            and operation in _CHECKS_PARAMETERS
            and not grant.parameters.permits(data)
        ):
            return dataclasses.replace(decision, allowed=False, granting_policies=())
        return decision

    def capabilities(self, path: str) -> list[str]:
        """Sorted capabilities on `path` (looked up as a LIST, as Vault does); `["deny"]` if
        none, `["root"]` for a root ACL."""
        if self.is_root:
            return [ROOT_CAPABILITY]
        grant = self._lookup(path.lstrip("/"), is_list=True)
        if grant is None or not grant.capabilities or DENY_CAPABILITY in grant.capabilities:
            return [DENY_CAPABILITY]
        return sorted(grant.capabilities)

    def _lookup(self, path: str, *, is_list: bool) -> _Grant | None:
        grant = self._exact.get(path)
        if grant is not None:
            return grant
        if is_list:
            trimmed = path.removesuffix("/")
            grant = self._exact.get(trimmed)
            if grant is not None:
                return grant
            if trimmed != path:
                grant = self._non_exact(trimmed)
                if grant is not None:
                    return grant
        return self._non_exact(path)

    def _non_exact(self, path: str) -> _Grant | None:
        best: _Grant | None = None
        best_priority: tuple[int, int, int, int, str] | None = None
        for length in self._prefix_lengths:
            if length <= len(path) and (grant := self._prefix.get(path[:length])) is not None:
                best, best_priority = grant, _priority(length, True, 0, path[:length])
                break
        if not self._wildcards:
            return best
        parts = path.split("/")
        for rule in self._wildcards:
            if best_priority is not None and rule.priority <= best_priority:
                break
            if rule.matches(parts):
                return rule.grant
        return best


def _table_for(
    rule: PathRule,
    exact: dict[str, _GrantBuilder],
    prefix: dict[str, _GrantBuilder],
    wildcard: dict[str, _GrantBuilder],
) -> dict[str, _GrantBuilder]:
    if rule.has_segment_wildcards:
        return wildcard
    return prefix if rule.is_prefix else exact


def _compile_wildcard(pattern: str, grant: _Grant) -> _WildcardRule:
    is_prefix = pattern.endswith("*")
    path = pattern.removesuffix("*")
    segments = tuple(path.split("/"))
    first = next(i for i, seg in enumerate(segments) if seg == "+")
    first_wildcard = sum(len(seg) + 1 for seg in segments[:first])
    priority = _priority(first_wildcard, is_prefix, segments.count("+"), path)
    return _WildcardRule(segments, is_prefix, priority, grant)
