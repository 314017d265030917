"""ACL evaluation: exact rules, glob priority, merging across policies, root, capabilities."""

from __future__ import annotations

import pytest

from awsbroker.policy.acl import ACL, Decision
from awsbroker.policy.parse import parse_policy
from awsbroker.sdk.logical import Operation

READ, LIST, UPDATE = Operation.READ, Operation.LIST, Operation.UPDATE


def acl(**policies: str) -> ACL:
    return ACL([parse_policy(name, text) for name, text in policies.items()])


def rule(pattern: str, *caps: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in caps)
    return f'path "{pattern}" {{\n  capabilities = [{quoted}]\n}}\n'


def caps_at(a: ACL, path: str) -> list[str]:
    return a.capabilities(path)


def test_nothing_matches_is_deny() -> None:
    a = acl(p=rule("secret/foo", "read"))
    assert a.allowed("secret/bar", READ) == Decision(allowed=False)
    assert a.capabilities("secret/bar") == ["deny"]


def test_no_policies_denies_everything() -> None:
    a = ACL([])
    assert not a.allowed("sys/mounts", READ).allowed
    assert a.capabilities("") == ["deny"]


@pytest.mark.parametrize(
    ("operation", "capability"),
    [
        (Operation.READ, "read"),
        (Operation.LIST, "list"),
        (Operation.CREATE, "create"),
        (Operation.UPDATE, "update"),
        (Operation.DELETE, "delete"),
        (Operation.HEAD, "read"),
    ],
)
def test_operation_needs_its_capability(operation: Operation, capability: str) -> None:
    assert acl(p=rule("x", capability)).allowed("x", operation).allowed
    others = {"read", "list", "create", "update", "delete", "patch", "sudo"} - {capability}
    assert not acl(p=rule("x", *sorted(others))).allowed("x", operation).allowed


def test_decision_fields() -> None:
    a = acl(ops=rule("sys/audit", "read", "sudo"))
    decision = a.allowed("/sys/audit", READ)
    assert decision == Decision(
        allowed=True,
        is_root=False,
        sudo=True,
        capabilities=frozenset({"read", "sudo"}),
        granting_policies=("ops",),
    )
    refused = a.allowed("sys/audit", UPDATE)
    assert (refused.allowed, refused.sudo, refused.granting_policies) == (False, True, ())


def test_exact_rule_wins_outright_over_globs() -> None:
    a = acl(p=rule("secret/foo", "read") + rule("secret/foo*", "update", "list"))
    assert a.allowed("secret/foo", READ).allowed
    assert not a.allowed("secret/foo", UPDATE).allowed
    assert a.allowed("secret/foobar", UPDATE).allowed


def test_exact_rule_beats_a_deny_glob() -> None:
    a = acl(p=rule("secret/*", "deny"), q=rule("secret/open", "read"))
    assert a.allowed("secret/open", READ).allowed
    assert not a.allowed("secret/other", READ).allowed


def test_glob_is_a_string_prefix_not_a_segment_prefix() -> None:
    a = acl(p=rule("secret/foo*", "read"))
    for path in ("secret/foo", "secret/foobar", "secret/foo/bar/baz"):
        assert a.allowed(path, READ).allowed, path
    assert not a.allowed("secret/fo", READ).allowed


def test_star_alone_matches_everything() -> None:
    a = acl(p=rule("*", "read"))
    assert a.allowed("", READ).allowed
    assert a.allowed("anything/at/all", READ).allowed


def test_longest_prefix_wins() -> None:
    a = acl(p=rule("secret/*", "read") + rule("secret/foo/*", "list"))
    assert a.capabilities("secret/foo/x") == ["list"]
    assert not a.allowed("secret/foo/x", READ).allowed
    assert a.capabilities("secret/bar") == ["read"]


def test_priority_later_first_wildcard_wins() -> None:
    # secret/foo* has its glob at 10, secret/+/bar its `+` at 7: the glob is preferred.
    a = acl(p=rule("secret/foo*", "read") + rule("secret/+/bar", "update"))
    assert a.capabilities("secret/foo/bar") == ["read"]
    assert a.capabilities("secret/zip/bar") == ["update"]


def test_priority_later_plus_beats_earlier_plus() -> None:
    a = acl(p=rule("foo/bar/+/baz", "read") + rule("foo/+/bar/baz", "update"))
    assert a.capabilities("foo/bar/bar/baz") == ["read"]


def test_priority_non_prefix_beats_prefix() -> None:
    a = acl(p=rule("secret/+/bar", "read") + rule("secret/+/ba*", "update"))
    assert a.capabilities("secret/x/bar") == ["read"]
    assert a.capabilities("secret/x/baz") == ["update"]


def test_priority_plus_beats_star_at_the_same_position() -> None:
    a = acl(p=rule("foo/+", "read") + rule("foo/*", "update"))
    assert a.capabilities("foo/x") == ["read"]
    assert a.capabilities("foo/x/y") == ["update"]


def test_priority_fewer_plus_segments_wins() -> None:
    a = acl(p=rule("a/+/b/c", "read") + rule("a/+/b/+", "update"))
    assert a.capabilities("a/x/b/c") == ["read"]
    assert a.capabilities("a/x/b/d") == ["update"]


def test_priority_longer_wins() -> None:
    a = acl(p=rule("foo/+/bar/ba*", "read") + rule("foo/+/bar/b*", "update"))
    assert a.capabilities("foo/x/bar/baz") == ["read"]
    assert a.capabilities("foo/x/bar/bzz") == ["update"]


def test_priority_lexicographically_greater_wins() -> None:
    # Same first wildcard (0), both exact-length, two `+` each, same length: "+/a/+" > "+/+/b".
    a = acl(p=rule("+/a/+", "read") + rule("+/+/b", "update"))
    assert a.capabilities("x/a/b") == ["read"]


def test_plus_matches_exactly_one_segment() -> None:
    a = acl(p=rule("secret/+/teamb", "read"))
    assert a.allowed("secret/a/teamb", READ).allowed
    assert not a.allowed("secret/teamb", READ).allowed
    assert not a.allowed("secret/a/b/teamb", READ).allowed
    assert not a.allowed("secret/a/teamb/x", READ).allowed


def test_plus_with_trailing_glob() -> None:
    a = acl(p=rule("secret/+/team*", "read"))
    assert a.allowed("secret/a/teamb", READ).allowed
    assert a.allowed("secret/a/team/x/y", READ).allowed
    assert not a.allowed("secret/a/other", READ).allowed
    assert not a.allowed("secret/a", READ).allowed


def test_plus_as_first_segment_and_alone() -> None:
    a = acl(p=rule("+/config", "read") + rule("+", "list"))
    assert a.allowed("aws/config", READ).allowed
    assert a.allowed("aws", LIST).allowed
    assert not a.allowed("aws/x", LIST).allowed


def test_list_trailing_slash_tries_exact_path_without_it() -> None:
    a = acl(p=rule("secret/foo", "list", "read"))
    assert a.allowed("secret/foo/", LIST).allowed
    assert not a.allowed("secret/foo/", READ).allowed


def test_list_trailing_slash_tries_globs_without_it_first() -> None:
    # secret/x/foo/ has four segments, so only secret/* matches it as is; without the
    # slash secret/+/foo matches and wins.
    a = acl(p=rule("secret/+/foo", "list") + rule("secret/*", "read"))
    assert a.allowed("secret/x/foo/", LIST).allowed
    # Only LIST trims the slash: a READ of the same path is decided by secret/*.
    assert a.allowed("secret/x/foo/", READ).capabilities == frozenset({"read"})
    assert a.capabilities("secret/x/foo/") == ["list"]


def test_list_trailing_slash_falls_back_to_the_path_as_given() -> None:
    a = acl(p=rule("secret/+/", "list"))
    assert a.allowed("secret/x/", LIST).allowed


def test_same_pattern_unions_across_policies() -> None:
    a = acl(reader=rule("secret/*", "read"), lister=rule("secret/*", "list", "read"))
    assert a.capabilities("secret/x") == ["list", "read"]
    assert a.allowed("secret/x", READ).granting_policies == ("reader", "lister")
    assert a.allowed("secret/x", LIST).granting_policies == ("lister",)


def test_a_policy_is_named_once_even_with_repeated_blocks() -> None:
    a = acl(p=rule("secret/*", "read") + rule("secret/*", "read", "list"))
    assert a.allowed("secret/x", READ).granting_policies == ("p",)


def test_same_exact_and_plus_patterns_union_too() -> None:
    a = acl(
        p=rule("a", "read") + rule("a/+/b", "read"), q=rule("a", "update") + rule("a/+/b", "list")
    )
    assert a.capabilities("a") == ["read", "update"]
    assert a.capabilities("a/x/b") == ["list", "read"]


def test_different_patterns_are_not_combined() -> None:
    a = acl(p=rule("secret/*", "read"), q=rule("secret/foo/*", "list"))
    assert a.capabilities("secret/foo/x") == ["list"]


def test_deny_on_the_same_pattern_absorbs_grants_and_sudo() -> None:
    for order in ((0, 1), (1, 0)):
        texts = [rule("secret/*", "read", "sudo"), rule("secret/*", "deny")]
        a = ACL([parse_policy(f"p{i}", texts[i]) for i in order])
        decision = a.allowed("secret/x", READ)
        assert decision == Decision(allowed=False, capabilities=frozenset({"deny"}))
        assert a.capabilities("secret/x") == ["deny"]


def test_deny_on_a_narrower_pattern_beats_a_broader_grant() -> None:
    a = acl(
        admin=rule("secret/*", "create", "read", "update", "delete", "list", "sudo"),
        fence=rule("secret/admin/*", "deny"),
    )
    assert a.allowed("secret/app/db", READ).allowed
    assert not a.allowed("secret/admin/root-creds", READ).allowed
    assert not a.allowed("secret/admin/root-creds", READ).sudo
    assert a.capabilities("secret/admin/x") == ["deny"]


def test_rule_with_no_capabilities_still_wins_and_denies() -> None:
    a = acl(
        p=rule("secret/*", "read")
        + rule(
            "secret/locked",
        )
    )
    assert not a.allowed("secret/locked", READ).allowed
    assert a.capabilities("secret/locked") == ["deny"]


def test_root_acl_allows_everything() -> None:
    a = ACL([parse_policy("root", "")])
    decision = a.allowed("sys/raw/anything", Operation.DELETE)
    assert decision == Decision(True, True, True, frozenset({"root"}), ("root",))
    assert a.is_root
    assert a.capabilities("sys/audit") == ["root"]


def test_root_among_other_policies_is_still_root() -> None:
    a = ACL([parse_policy("default", rule("x", "deny")), parse_policy("root", "")])
    assert a.allowed("x", READ).is_root


def test_capabilities_output_is_sorted() -> None:
    a = acl(p=rule("secret/*", "update", "sudo", "create", "read", "list", "delete", "patch"))
    assert a.capabilities("secret/x") == [
        "create",
        "delete",
        "list",
        "patch",
        "read",
        "sudo",
        "update",
    ]


def test_legacy_policies_evaluate() -> None:
    a = acl(p='path "secret/*" { policy = "write" }\npath "sys/*" { policy = "sudo" }')
    assert a.capabilities("secret/x") == ["create", "delete", "list", "read", "update"]
    assert a.allowed("sys/audit", READ).sudo


def test_many_rules_pick_the_right_one() -> None:
    text = "".join(rule(f"kv/team{i}/*", "read") for i in range(200))
    text += "".join(rule(f"kv/team{i}/+/shared", "list") for i in range(200))
    a = acl(p=text + rule("kv/*", "update"))
    assert a.capabilities("kv/team150/x") == ["read"]
    # Same first wildcard position (11) as kv/team150/*; not being a prefix wins.
    assert a.capabilities("kv/team150/x/shared") == ["list"]
    assert a.capabilities("kv/team1500/x") == ["update"]
    assert a.capabilities("kv/team1/x") == ["read"]


# Vault's own test tables (vault/acl_test.go), for the operations awsbroker has.
VAULT_POLICY = """
name = "DeV"
path "dev/*" { policy = "sudo" }
path "stage/*" { policy = "write" }
path "stage/aws/*" {
  policy = "read"
  capabilities = ["update", "sudo"]
}
path "stage/aws/policy/*" { policy = "sudo" }
path "prod/*" { policy = "read" }
path "prod/aws/*" { policy = "deny" }
path "sys/*" { policy = "deny" }
path "foo/bar" { capabilities = ["read", "create", "sudo"] }
path "baz/quux" { capabilities = ["read", "create", "patch"] }
path "test/+/segment" { capabilities = ["read"] }
path "+/segment/at/front" { capabilities = ["read"] }
path "test/segment/at/end/+" { capabilities = ["read"] }
path "test/segment/at/end/v2/+/" { capabilities = ["read"] }
path "test/+/wildcard/+/*" { capabilities = ["read"] }
path "test/+/wildcardglob/+/end*" { capabilities = ["read"] }
path "1/2/*" { capabilities = ["create"] }
path "1/2/+" { capabilities = ["read"] }
path "1/2/+/+" { capabilities = ["update"] }
"""

VAULT_POLICY_2 = """
name = "OpS"
path "dev/hide/*" { policy = "deny" }
path "stage/aws/policy/*" {
  policy = "deny"
  capabilities = ["read", "update", "sudo"]
}
path "prod/*" { policy = "write" }
path "sys/seal" { policy = "sudo" }
path "foo/bar" { capabilities = ["deny"] }
path "baz/quux" { capabilities = ["deny"] }
"""

C, R, U, D, L = (
    Operation.CREATE,
    Operation.READ,
    Operation.UPDATE,
    Operation.DELETE,
    Operation.LIST,
)


@pytest.mark.parametrize(
    ("op", "path", "allowed", "sudo"),
    [
        (R, "root", False, False),
        (R, "dev/foo", True, True),
        (U, "dev/foo", True, True),
        (D, "stage/foo", True, False),
        (L, "stage/aws/foo", True, True),
        (U, "stage/aws/foo", True, True),
        (U, "stage/aws/policy/foo", True, True),
        (D, "prod/foo", False, False),
        (U, "prod/foo", False, False),
        (R, "prod/foo", True, False),
        (L, "prod/foo", True, False),
        (R, "prod/aws/foo", False, False),
        (R, "foo/bar", True, True),
        (L, "foo/bar", False, True),
        (U, "foo/bar", False, True),
        (C, "foo/bar", True, True),
        (R, "baz/quux", True, False),
        (C, "baz/quux", True, False),
        (L, "baz/quux", False, False),
        (U, "baz/quux", False, False),
        (R, "test/foo/bar/segment", False, False),
        (R, "test/foo/segment", True, False),
        (R, "test/bar/segment", True, False),
        (R, "test/segment/at/frond", False, False),
        (R, "test/segment/at/front", True, False),
        (R, "test/segment/at/end/foo", True, False),
        (R, "test/segment/at/end/foo/", False, False),
        (R, "test/segment/at/end/v2/foo/", True, False),
        (R, "test/segment/wildcard/at/foo/", True, False),
        (R, "test/segment/wildcard/at/end", True, False),
        (R, "test/segment/wildcard/at/end/", True, False),
        (R, "1/2/3/4", False, False),
        (R, "1/2/3", True, False),
        (U, "1/2/3", False, False),
        (U, "1/2/3/4", True, False),
        (C, "1/2/3/4/5", True, False),
    ],
)
def test_vault_single_policy_table(op: Operation, path: str, allowed: bool, sudo: bool) -> None:
    decision = acl(dev=VAULT_POLICY).allowed(path, op)
    assert (decision.allowed, decision.sudo) == (allowed, sudo)


@pytest.mark.parametrize(
    ("op", "path", "allowed", "sudo"),
    [
        (R, "dev/foo", True, True),
        (U, "dev/foo", True, True),
        (R, "dev/hide/foo", False, False),
        (U, "dev/hide/foo", False, False),
        (D, "stage/foo", True, False),
        (L, "stage/aws/foo", True, True),
        (U, "stage/aws/foo", True, True),
        (U, "stage/aws/policy/foo", False, False),
        (D, "prod/foo", True, False),
        (U, "prod/foo", True, False),
        (R, "prod/foo", True, False),
        (L, "prod/foo", True, False),
        (R, "prod/aws/foo", False, False),
        (R, "sys/status", False, False),
        (U, "sys/seal", True, True),
        (R, "foo/bar", False, False),
        (C, "foo/bar", False, False),
        (R, "baz/quux", False, False),
        (C, "baz/quux", False, False),
    ],
)
def test_vault_layered_table(op: Operation, path: str, allowed: bool, sudo: bool) -> None:
    decision = acl(dev=VAULT_POLICY, ops=VAULT_POLICY_2).allowed(path, op)
    assert (decision.allowed, decision.sudo) == (allowed, sudo)


def test_vault_capabilities_table() -> None:
    a = acl(dev=VAULT_POLICY)
    assert a.capabilities("dev") == ["deny"]
    assert a.capabilities("dev/") == ["create", "delete", "list", "read", "sudo", "update"]
    assert a.capabilities("stage/aws/test") == ["list", "read", "sudo", "update"]


@pytest.mark.parametrize(
    ("read_rule", "update_rule", "path"),
    [
        ("+/*", "*", "foo/bar/bar/baz"),
        ("+/*", "foo/+/*", "foo/bar/bar/baz"),
        ("foo/+/+/*", "foo/+/bar/baz", "foo/bar/bar/baz"),
        ("foo/+/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
        ("foo/+/(ar/baz", "foo/(ar/+/baz", "foo/(ar/(ar/baz"),
        ("foo/bar/+/baz*", "foo/bar/+/baz", "foo/bar/bar/baz"),
        ("foo/bar/+/b*", "foo/bar/+/ba*", "foo/bar/bar/baz"),
    ],
)
def test_vault_segment_wildcard_priority(read_rule: str, update_rule: str, path: str) -> None:
    a = acl(p=rule(read_rule, "read") + rule(update_rule, "update"))
    assert a.allowed(path, UPDATE).allowed
    assert not a.allowed(path, READ).allowed
