"""Matching one request value against a policy's listed values (Vault's glob and equality)."""

from __future__ import annotations

import pytest

from awsbroker.policy.parameter_values import (
    glob_match,
    is_allowed,
    is_denied,
    items_of,
    matches_any,
    same_value,
)
from awsbroker.sdk.logical import JSONValue


@pytest.mark.parametrize(
    ("listed", "value", "matches"),
    [
        # Shorter than two characters: compared exactly, so a lone `*` is no wildcard.
        ("*", "*", True),
        ("*", "anything", False),
        ("*", "", False),
        ("", "", True),
        ("a", "a", True),
        ("a", "ab", False),
        ("**", "anything", True),
        ("**", "", True),
        ("foo*", "foo", True),
        ("foo*", "foobar", True),
        ("foo*", "xfoo", False),
        ("*foo", "barfoo", True),
        ("*foo", "foobar", False),
        ("*foo*", "xfooy", True),
        ("*foo*", "fo", False),
        ("f*o", "f*o", True),  # a `*` inside is a plain character
        ("f*o", "fxo", False),
        ("good", "Good", False),
    ],
)
def test_glob_match(listed: str, value: str, matches: bool) -> None:
    assert glob_match(listed, value) is matches


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1, True),
        (1, 1.0, True),
        (1, True, False),
        (0, False, False),
        (False, False, True),
        ("1", 1, False),
        (None, None, True),
        (None, "", False),
        ([1, "a"], [1, "a"], True),
        ([1, "a"], ["a", 1], False),
        ([True], [1], False),
        ({"k": [1]}, {"k": [1.0]}, True),
        ({"k": 1}, {"k": 1, "j": 2}, False),
        ({"k": True}, {"k": 1}, False),
    ],
)
def test_same_value_is_json_equality(a: JSONValue, b: JSONValue, same: bool) -> None:
    assert same_value(a, b) is same
    assert same_value(b, a) is same


def test_strings_listed_match_only_strings() -> None:
    assert not matches_any(1, ("1",))
    assert not matches_any(["a"], ("a",))
    assert matches_any("abc", (1, "a*"))
    assert matches_any(None, (None,))
    assert not matches_any(None, ("",))
    assert not matches_any("", (None,))


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("", []),
        ("a", ["a"]),
        ("a, b ,c", ["a", "b", "c"]),
        ("a,,b", ["a", "", "b"]),
        (" ", [""]),
        (["a", 1], ["a", 1]),
        ([], []),
        (1, None),
        (True, None),
        ({"a": "b"}, None),
    ],
)
def test_items_of(value: JSONValue, items: list[JSONValue] | None) -> None:
    assert items_of(value) == items


def test_an_empty_list_allows_and_denies_any_value() -> None:
    for value in ("x", "", [], None, 3, {"a": 1}):
        assert is_allowed(value, ())
        assert is_denied(value, ())


def test_values_without_items_are_allowed_only_when_listed() -> None:
    assert not is_allowed("", ("15m",))
    assert not is_allowed([], ("15m",))
    assert is_allowed("", ("",))
    assert is_allowed("", ("**",))  # `**` matches every string, the empty one too
    assert not is_allowed([], ("**",))  # ... but a list has no item to match
    assert is_allowed([], ([],))
    assert not is_denied("", ("15m",))
    assert not is_denied([], ("15m",))
