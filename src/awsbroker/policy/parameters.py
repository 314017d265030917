"""A pattern's parameter constraints (`allowed_parameters`, `denied_parameters`,
`required_parameters`), merged across the policies and blocks that grant it, and checked against
a request's data. After Vault 1.21's `vault/acl.go`.

Merging, for one pattern (several policies, or several blocks of one policy):

- `allowed` and `denied` each: the union of names; for a name in both, an empty list ("any
  value") wins, otherwise the values are concatenated. A block without the map leaves the
  other's as is, so a pattern granted once with constraints and once without keeps them.
- `required`: the union, in order.
- A `deny` on the pattern refuses everything, so its constraints no longer matter.

Checking a request's data (names compared lowercased, as Vault does):

1. Every required name must be sent (the exact lowercased key).
2. Nothing sent: allowed.
3. A `*` in `denied` refuses any sent parameter; otherwise a sent parameter named in `denied`
   is refused if its value is denied (`parameter_values.is_denied`).
4. No `allowed` map, or one with only `*`: allowed. Otherwise every sent parameter must be named
   in it (or `*` must be in it), and a named one's value must be allowed (`is_allowed`).

A parameter sent as JSON `null` counts as not sent: handlers treat it so (`sdk/fields.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from awsbroker.policy.parameter_values import ValueList, is_allowed, is_denied
from awsbroker.policy.parse import ParameterMap, PathRule
from awsbroker.sdk.logical import JSONValue

ANY_NAME = "*"


@dataclass(frozen=True)
class ParameterRules:
    """The merged constraints of one pattern. Built only when there is at least one."""

    allowed: Mapping[str, ValueList] = field(default_factory=dict, hash=False)
    denied: Mapping[str, ValueList] = field(default_factory=dict, hash=False)
    required: tuple[str, ...] = ()

    def permits(self, data: Mapping[str, JSONValue]) -> bool:
        """May a request send `data` (its body or query, as the handler will read it)?"""
        for name in self.required:
            if data.get(name.lower()) is None:
                return False
        sent: list[tuple[str, JSONValue]] = [
            (name.lower(), value) for name, value in data.items() if value is not None
        ]
        if not sent:
            return True
        return not self._denies(sent) and self._allows(sent)

    def _denies(self, sent: list[tuple[str, JSONValue]]) -> bool:
        if ANY_NAME in self.denied:
            return True
        for name, value in sent:
            listed = self.denied.get(name)
            if listed is not None and is_denied(value, listed):
                return True
        return False

    def _allows(self, sent: list[tuple[str, JSONValue]]) -> bool:
        any_name = ANY_NAME in self.allowed
        if not self.allowed or (any_name and len(self.allowed) == 1):
            return True
        for name, value in sent:
            listed = self.allowed.get(name)
            if listed is None:
                if not any_name:
                    return False
            elif not is_allowed(value, listed):
                return False
        return True


class ParameterRulesBuilder:
    """Merges the constraints of the blocks that grant one pattern, in the order given."""

    def __init__(self) -> None:
        self._allowed: dict[str, ValueList] | None = None
        self._denied: dict[str, ValueList] | None = None
        self._required: list[str] = []

    def add(self, rule: PathRule) -> None:
        self._allowed = _merge(self._allowed, rule.allowed_parameters)
        self._denied = _merge(self._denied, rule.denied_parameters)
        self._required += [n for n in rule.required_parameters if n not in self._required]

    def build(self) -> ParameterRules | None:
        """None when the pattern has no constraint: the common case stays one `is None`."""
        if not (self._allowed or self._denied or self._required):
            return None
        # Read-only: one ACL's rules answer every request of every thread that holds it.
        allowed = MappingProxyType(self._allowed or {})
        return ParameterRules(allowed, MappingProxyType(self._denied or {}), tuple(self._required))


def _merge(
    merged: dict[str, ValueList] | None, added: ParameterMap | None
) -> dict[str, ValueList] | None:
    """Vault's merge of one parameter map into another; the added block's values come first."""
    if not added:
        return merged
    if merged is None:
        return dict(added)
    for name, values in added.items():
        before = merged.get(name)
        if not values or before == ():
            merged[name] = ()
        else:
            merged[name] = values + (before or ())
    return merged
