"""The claim rules: JSON pointers, Vault's globs, and how bound claim values compare."""

from __future__ import annotations

import pytest

from awsbroker.auth.jwt.claims import check_bound_claims, get_claim
from awsbroker.auth.jwt.jws import TokenInvalid
from awsbroker.sdk.glob import glob_match
from awsbroker.sdk.logical import JSONObject, JSONValue

CLAIMS: JSONObject = {
    "sub": "system:serviceaccount:ci:runner",
    "kubernetes.io": {"namespace": "ci", "pods": [{"name": "runner-0"}]},
    "a/b": {"c~d": "escaped"},
    "run": 7,
    "admin": True,
    "teams": ["ops", "dev"],
}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sub", "system:serviceaccount:ci:runner"),
        ("/kubernetes.io/namespace", "ci"),
        ("/kubernetes.io/pods/0/name", "runner-0"),
        ("/a~1b/c~0d", "escaped"),
        ("/kubernetes.io/pods/1/name", None),
        ("/kubernetes.io/missing", None),
        ("/teams/²", None),  # a digit to str.isdigit, not an index
        ("/sub/deeper", None),
        ("kubernetes.io/namespace", None),
    ],
)
def test_get_claim(name: str, value: JSONValue) -> None:
    assert get_claim(CLAIMS, name) == value


@pytest.mark.parametrize(
    ("pattern", "value", "match"),
    [
        ("repo:acme/*", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/*:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/main", True),
        ("repo:acme/*:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/dev", False),
        ("*:ref:refs/tags/v*", "repo:acme/app:ref:refs/tags/v1.2", True),
        ("*", "", True),
        ("a*a", "a", False),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("ref?", "refs", False),  # only * is special
        ("[ab]", "a", False),
    ],
)
def test_glob_match(pattern: str, value: str, match: bool) -> None:
    assert glob_match(pattern, value) is match


@pytest.mark.parametrize(
    ("bound", "glob"),
    [
        ({"run": 7}, False),
        ({"run": 7.0}, False),
        ({"admin": True}, False),
        ({"teams": "dev"}, False),
        ({"teams": ["qa", "ops"]}, False),
        ({"/kubernetes.io/namespace": ["prod", "ci"]}, False),
        ({"sub": "system:serviceaccount:ci:*"}, True),
        ({"teams": "o*"}, True),
    ],
)
def test_bound_claims_that_match(bound: dict[str, JSONValue], glob: bool) -> None:
    check_bound_claims(CLAIMS, bound, glob)


@pytest.mark.parametrize(
    ("bound", "glob", "message"),
    [
        ({"run": "7"}, False, "does not match"),  # a number is not its string, as in Vault
        ({"admin": 1}, False, "does not match"),  # nor is a bool a number
        ({"run": "*"}, True, "does not match"),  # globs match strings only
        ({"teams": "qa"}, False, "does not match"),
        ({"missing": "x"}, False, "claim 'missing' is missing"),
        ({"kubernetes.io": "x"}, False, "not a string, bool, number or list"),
    ],
)
def test_bound_claims_that_do_not(bound: dict[str, JSONValue], glob: bool, message: str) -> None:
    with pytest.raises(TokenInvalid, match=message):
        check_bound_claims(CLAIMS, bound, glob)
