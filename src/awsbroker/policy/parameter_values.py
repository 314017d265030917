"""Is a request's value among a policy's listed values? After Vault 1.21's `vault/acl.go`.

A listed string matches a request string as Vault's `GlobbedStringsMatch` does: `*` at its start
and/or end is a suffix, prefix or substring glob, but a listed value shorter than two characters
is compared exactly (so `"*"` alone matches only `"*"`, and `"**"` matches every string). Any
other listed value matches a request value of the same JSON kind that equals it (a number equals
a number of the same value; `1` never equals `"1"` nor `true`); `null` matches only `null`.

Since 1.21 a list, or a comma-separated string, is also checked item by item: it is allowed when
every item matches a listed value, and denied when any item does. Items of a string are trimmed.
"""

from __future__ import annotations

from collections.abc import Sequence

from awsbroker.sdk.logical import JSONValue

ValueList = tuple[JSONValue, ...]


def glob_match(listed: str, value: str) -> bool:
    """Vault's `GlobbedStringsMatch`: a leading and/or trailing `*` in `listed` is a wildcard."""
    if len(listed) < 2:
        return value == listed
    starts, ends = listed[0] == "*", listed[-1] == "*"
    if starts and ends:
        return listed[1:-1] in value
    if starts:
        return value.endswith(listed[1:])
    if ends:
        return value.startswith(listed[:-1])
    return value == listed


def same_value(a: JSONValue, b: JSONValue) -> bool:
    """Equal and of the same JSON kind. Python's own `==` says `True == 1`; JSON does not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def matches_any(value: JSONValue, listed: ValueList) -> bool:
    """Vault's `valueInParameterList`: the whole value against each listed value."""
    for item in listed:
        if item is None or value is None:
            if item is value:
                return True
        elif isinstance(item, str):
            if isinstance(value, str) and glob_match(item, value):
                return True
        elif same_value(item, value):
            return True
    return False


def items_of(value: JSONValue) -> Sequence[JSONValue] | None:
    """The items 1.21 checks one by one: a list's elements, or a string's comma-separated,
    trimmed parts (none for `""`); None for any other value."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")] if value else []
    return None


def is_allowed(value: JSONValue, listed: ValueList) -> bool:
    """May `value` be sent where `allowed_parameters` lists `listed`? An empty list allows any.

    Vault 1.21 also allows a value with no items (`""`, `[]`) under any list, as there is
    nothing to check. We refuse it unless the list names it: an empty value usually means "the
    default" to a handler (`ttl=""` is the role's TTL), which is what the list was written to
    rule out. docs/compatibility.md says so.
    """
    if not listed or matches_any(value, listed):
        return True
    items = items_of(value)
    if not items:
        return False
    return all(matches_any(item, listed) for item in items)


def is_denied(value: JSONValue, listed: ValueList) -> bool:
    """Is `value` refused where `denied_parameters` lists `listed`? An empty list denies any."""
    if not listed or matches_any(value, listed):
        return True
    items = items_of(value)
    return items is not None and any(matches_any(item, listed) for item in items)
