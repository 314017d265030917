"""Vault's glob (ryanuber/go-glob): `*` matches any run of characters, including none, anywhere
and any number of times; nothing else is special. Auth roles' bound claims and service
accounts, token roles' policy globs and the `username_template` `glob` function all use it.
(Policies' `allowed_parameters` use another rule, `policy/parameter_values.py`.)"""

from __future__ import annotations


def glob_match(pattern: str, value: str) -> bool:
    if "*" not in pattern:
        return value == pattern
    first, *middle, last = pattern.split("*")
    if not value.startswith(first) or not value.endswith(last):
        return False
    rest = value[len(first) :]
    for part in middle:
        found = rest.find(part)
        if found < 0:
            return False
        rest = rest[found + len(part) :]
    return len(rest) >= len(last)
