"""HMAC hashing of audited values: Vault's `hmac-sha256:<hex>` and its walk of structures."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from awsbroker.audit.hashing import PREFIX, Salt, hash_structure
from awsbroker.sdk.logical import JSONValue


def test_hash_is_hmac_sha256_keyed_by_the_salt() -> None:
    expected = hmac.new(b"the-salt", b"secret", hashlib.sha256).hexdigest()
    assert Salt("the-salt").hash("secret") == f"hmac-sha256:{expected}"


def test_hashes_are_deterministic_per_salt_and_differ_between_salts() -> None:
    assert Salt("a").hash("x") == Salt("a").hash("x")
    assert Salt("a").hash("x") != Salt("b").hash("x")
    assert Salt("a").hash("x") != Salt("a").hash("y")


def test_an_empty_salt_is_refused_and_a_salt_never_shows_in_its_repr() -> None:
    with pytest.raises(ValueError, match="empty"):
        Salt("")
    assert "s3cr3t" not in repr(Salt("s3cr3t"))


def test_every_string_is_hashed_recursively_and_other_values_are_kept() -> None:
    salt = Salt("k")
    value = {
        "secret_key": "abc",
        "nested": {"list": ["x", 1, True, None], "n": 2.5},
        "flag": False,
    }
    hashed = hash_structure(value, salt.hash)
    assert hashed == {
        "secret_key": salt.hash("abc"),
        "nested": {"list": [salt.hash("x"), 1, True, None], "n": 2.5},
        "flag": False,
    }
    assert value["secret_key"] == "abc", "the input is not changed"


def test_ignored_keys_keep_their_strings_and_lists_at_any_depth() -> None:
    salt = Salt("k")
    value = {
        "username": "alice",
        "roles": ["a", "b"],
        "inner": {"username": "bob", "password": "pw"},
        "password": "pw",
    }
    hashed = hash_structure(value, salt.hash, {"username", "roles"})
    assert hashed == {
        "username": "alice",
        "roles": ["a", "b"],
        "inner": {"username": "bob", "password": salt.hash("pw")},
        "password": salt.hash("pw"),
    }


def test_a_map_under_an_ignored_key_is_still_walked() -> None:
    salt = Salt("k")
    hashed = hash_structure({"meta": {"token": "t"}}, salt.hash, {"meta"})
    assert hashed == {"meta": {"token": salt.hash("t")}}


def test_hash_prefix_is_vaults() -> None:
    assert PREFIX == "hmac-sha256:"
    assert Salt("k").hash("").startswith(PREFIX)


def test_any_nesting_is_hashed_without_recursion() -> None:
    """Far deeper than Python's recursion limit: a recursive walk raised RecursionError, which
    failed the audit entry and so the request."""
    depth = 20_000
    value: JSONValue = "secret"
    for level in range(depth):
        value = {"k": [value]} if level % 2 else {"ignored": value, "n": level}
    hashed = hash_structure(value, Salt("s").hash, ignored={"ignored"})
    inner = hashed
    for level in reversed(range(depth)):
        assert isinstance(inner, dict)
        if level % 2:
            assert list(inner) == ["k"]
            inner = inner["k"][0]  # type: ignore[index]
        else:
            assert list(inner) == ["ignored", "n"]
            assert inner["n"] == level
            inner = inner["ignored"]
    assert inner == "secret"  # under an ignored key all the way down: kept
    assert hash_structure([[["x"]]], Salt("s").hash) == [[[Salt("s").hash("x")]]]
