"""`min_wrapping_ttl` and `max_wrapping_ttl`: a request must be response-wrapped within them
(Vault's `AllowOperation`), the lesser of each kept when patterns merge."""

from __future__ import annotations

import pytest

from awsbroker.policy.acl import ACL
from awsbroker.policy.parse import parse_policy
from awsbroker.sdk.logical import Operation

# Vault's TestACL_AllowOperation rows that carry wrapping TTLs.
POLICY = """
path "foo/bar" {
  policy = "write"
  min_wrapping_ttl = 300
  max_wrapping_ttl = "400s"
}
path "foo/baz" {
  policy = "write"
  min_wrapping_ttl = 300
}
path "working/phone" {
  policy = "write"
  max_wrapping_ttl = 400
}
"""


@pytest.mark.parametrize(
    ("path", "wrap_ttl", "allowed"),
    [
        ("foo/bar", 0, False),
        ("foo/bar", 299, False),
        ("foo/bar", 300, True),
        ("foo/bar", 400, True),
        ("foo/bar", 401, False),
        ("foo/baz", 0, False),
        ("foo/baz", 3600, True),
        ("working/phone", 0, False),
        ("working/phone", 400, True),
        ("working/phone", 401, False),
    ],
)
def test_wrapping_ttls_bound_the_request(path: str, wrap_ttl: int, allowed: bool) -> None:
    acl = ACL([parse_policy("p", POLICY)])
    assert acl.allowed(path, Operation.UPDATE, {}, wrap_ttl).allowed is allowed


def test_merged_patterns_keep_the_lesser_of_each() -> None:
    one = parse_policy("one", 'path "a" { capabilities = ["read"]\n max_wrapping_ttl = 600 }')
    two = parse_policy("two", 'path "a" { capabilities = ["read"]\n max_wrapping_ttl = 60 }')
    acl = ACL([one, two])
    assert acl.allowed("a", Operation.READ, {}, 60).allowed
    assert not acl.allowed("a", Operation.READ, {}, 61).allowed


def test_merged_minimum_above_the_maximum_refuses_everything() -> None:
    one = parse_policy("one", 'path "a" { capabilities = ["read"]\n min_wrapping_ttl = 100 }')
    two = parse_policy("two", 'path "a" { capabilities = ["read"]\n max_wrapping_ttl = 50 }')
    acl = ACL([one, two])
    assert not any(acl.allowed("a", Operation.READ, {}, ttl).allowed for ttl in (0, 50, 100))
