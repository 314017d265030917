"""`allowed_parameters`, `denied_parameters`, `required_parameters`: merging and enforcement.

The `vault_*` tables reproduce the inputs and outcomes of Vault's `vault/acl_test.go`
(`TestACL_AllowOperation`, `TestACL_ValuePermissions`, `TestACL_PolicyMerge`); rows that differ
here say why (and docs/compatibility.md does).
"""

from __future__ import annotations

import pytest

from awsbroker.policy.acl import ACL
from awsbroker.policy.parameters import ParameterRules
from awsbroker.policy.parse import parse_policy
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation

R, C, U, L, D, H = (
    Operation.READ,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.LIST,
    Operation.DELETE,
    Operation.HEAD,
)


def acl(**policies: str) -> ACL:
    return ACL([parse_policy(name, text) for name, text in policies.items()])


def permits(
    a: ACL, path: str, data: JSONObject, operations: tuple[Operation, ...] = (U, C)
) -> bool:
    """The answer for every operation in `operations`, which must agree."""
    answers = {a.allowed(path, op, data).allowed for op in operations}
    assert len(answers) == 1, (path, data)
    return answers.pop()


# ---- Vault's TestACL_AllowOperation (permissionsPolicy) -------------------------------------

# Vault's policy less its min/max_wrapping_ttl lines, so only the parameter outcomes of its rows
# are reproduced here (the wrapping TTLs: test_acl_wrapping.py).
PERMISSIONS_POLICY = """
path "dev/*" {
  policy = "write"
  allowed_parameters = { "zip" = [] }
}
path "foo/bar" {
  policy = "write"
  denied_parameters = { "zap" = [] }
}
path "foo/baz" {
  policy = "write"
  allowed_parameters = { "hello" = [] }
  denied_parameters = { "zap" = [] }
}
path "working/phone" {
  policy = "write"
}
path "broken/phone" {
  policy = "write"
  allowed_parameters = { "steve" = [] }
  denied_parameters = { "steve" = [] }
}
path "hello/world" {
  policy = "write"
  allowed_parameters = { "*" = [] }
  denied_parameters = { "*" = [] }
}
path "tree/fort" {
  policy = "write"
  allowed_parameters = { "*" = [] }
  denied_parameters = { "foo" = [] }
}
path "fruit/apple" {
  policy = "write"
  allowed_parameters = { "pear" = [] }
  denied_parameters = { "*" = [] }
}
path "cold/weather" {
  policy = "write"
  allowed_parameters = {}
  denied_parameters = {}
}
path "var/aws" {
  policy = "write"
  allowed_parameters = { "*" = [] }
  denied_parameters = { "soft" = [], "warm" = [], "kitty" = [] }
}
path "var/req" {
  policy = "write"
  required_parameters = ["foo"]
}
"""


@pytest.mark.parametrize(
    ("path", "names", "allowed"),
    [
        ("dev/ops", ["zip"], True),
        ("foo/bar", ["zap"], False),
        ("foo/bar", ["zip"], True),  # wrapping TTL lines left out (above)
        ("foo/baz", ["hello"], True),  # wrapping TTL lines left out (above)
        ("foo/baz", ["zap"], False),
        ("broken/phone", ["steve"], False),
        ("working/phone", [""], True),  # wrapping TTL lines left out (above)
        ("hello/world", ["one"], False),
        ("tree/fort", ["one"], True),
        ("tree/fort", ["foo"], False),
        ("fruit/apple", ["pear"], False),
        ("fruit/apple", ["one"], False),
        ("cold/weather", ["four"], True),
        ("var/aws", ["cold", "warm", "kitty"], False),
        ("var/req", ["cold", "warm", "kitty"], False),
        ("var/req", ["cold", "warm", "kitty", "foo"], True),
    ],
)
def test_vault_allow_operation_table(path: str, names: list[str], allowed: bool) -> None:
    data: JSONObject = dict.fromkeys(names, "")
    assert permits(acl(dev=PERMISSIONS_POLICY), path, data) is allowed


# ---- Vault's TestACL_ValuePermissions (valuePermissionsPolicy) ------------------------------

VALUE_PERMISSIONS_POLICY = """
path "dev/*" {
  policy = "write"
  allowed_parameters = { "allow" = ["good"] }
}
path "foo/bar" {
  policy = "write"
  denied_parameters = { "deny" = ["bad*"] }
}
path "foo/baz" {
  policy = "write"
  allowed_parameters = { "ALLOW" = ["good"] }
  denied_parameters = { "dEny" = ["bad"] }
}
path "fizz/buzz" {
  policy = "write"
  allowed_parameters = {
    "allow_multi" = ["good", "good1", "good2", "*good3"]
    "allow" = ["good"]
  }
  denied_parameters = { "deny_multi" = ["bad", "bad1", "bad2"] }
}
path "test/types" {
  policy = "write"
  allowed_parameters = {
    "map" = [{"good" = "one"}]
    "int" = [1, 2]
    "bool" = [false]
  }
  denied_parameters = {}
}
path "test/star" {
  policy = "write"
  allowed_parameters = {
    "*" = []
    "foo" = []
    "bar" = [false]
  }
  denied_parameters = {}
}
"""


@pytest.mark.parametrize(
    ("path", "data", "allowed"),
    [
        ("dev/ops", {"allow": "good"}, True),
        ("dev/ops", {"allow": "bad"}, False),
        ("foo/bar", {"deny": "bad"}, False),
        ("foo/bar", {"deny": "bad glob"}, False),
        ("foo/bar", {"deny": "good"}, True),
        ("foo/bar", {"allow": "good"}, True),
        ("foo/bar", {"deny": None}, True),
        ("foo/bar", {"allow": None}, True),
        ("foo/baz", {"aLLow": "good"}, True),
        ("foo/baz", {"deny": "bad"}, False),
        ("foo/baz", {"deny": "good"}, False),
        ("foo/baz", {"allow": "good", "deny": "bad"}, False),
        ("foo/baz", {"deNy": "bad", "allow": "good"}, False),
        ("foo/baz", {"aLLow": "bad"}, False),
        ("foo/baz", {"Neither": "bad"}, False),
        # Vault: false, as it checks null against ["good"]. Here a null is not sent at all.
        ("foo/baz", {"allow": None}, True),
        ("fizz/buzz", {"allow_multi": "good"}, True),
        ("fizz/buzz", {"allow_multi": "good1"}, True),
        ("fizz/buzz", {"allow_multi": "good2"}, True),
        ("fizz/buzz", {"allow_multi": "glob good2"}, False),
        ("fizz/buzz", {"allow_multi": "glob good3"}, True),
        ("fizz/buzz", {"allow_multi": "bad"}, False),
        ("fizz/buzz", {"allow_multi": "good1", "allow": "good"}, True),
        ("fizz/buzz", {"deny_multi": "bad2"}, False),
        ("fizz/buzz", {"deny_multi": "good", "allow_multi": "good2"}, False),
        ("test/types", {"map": {"good": "one"}}, True),
        ("test/types", {"map": {"bad": "one"}}, False),
        ("test/types", {"int": 1}, True),
        ("test/types", {"int": 3}, False),
        ("test/types", {"bool": False}, True),
        ("test/types", {"bool": True}, False),
        ("test/star", {"anything": True}, True),
        ("test/star", {"foo": True}, True),
        ("test/star", {"bar": False}, True),
        ("test/star", {"bar": True}, False),
    ],
)
def test_vault_value_permissions_table(path: str, data: JSONObject, allowed: bool) -> None:
    assert permits(acl(op=VALUE_PERMISSIONS_POLICY), path, data) is allowed


# ---- Vault's TestACL_PolicyMerge (mergingPolicies) ------------------------------------------

MERGING_POLICY = """
path "foo/bar" {
  policy = "write"
  denied_parameters = { "baz" = [] }
  required_parameters = ["baz"]
}
path "foo/bar" {
  policy = "write"
  denied_parameters = { "zip" = [] }
}
path "hello/universe" {
  policy = "write"
  allowed_parameters = { "foo" = [] }
  required_parameters = ["foo"]
}
path "hello/universe" {
  policy = "write"
  allowed_parameters = { "bar" = [] }
  required_parameters = ["bar"]
}
path "allow/all" {
  policy = "write"
  allowed_parameters = { "test" = [], "test1" = ["foo"] }
}
path "allow/all" {
  policy = "write"
  allowed_parameters = { "*" = [] }
}
path "allow/all1" {
  policy = "write"
  allowed_parameters = { "*" = [] }
}
path "allow/all1" {
  policy = "write"
  allowed_parameters = { "test" = [], "test1" = ["foo"] }
}
path "deny/all" {
  policy = "write"
  denied_parameters = { "test" = [] }
}
path "deny/all" {
  policy = "write"
  denied_parameters = { "*" = [] }
}
path "deny/all1" {
  policy = "write"
  denied_parameters = { "*" = [] }
}
path "deny/all1" {
  policy = "write"
  denied_parameters = { "test" = [] }
}
path "value/merge" {
  policy = "write"
  allowed_parameters = { "test" = [1, 2] }
  denied_parameters = { "test" = [1, 2] }
}
path "value/merge" {
  policy = "write"
  allowed_parameters = { "test" = [3, 4] }
  denied_parameters = { "test" = [3, 4] }
}
path "value/empty" {
  policy = "write"
  allowed_parameters = { "empty" = [] }
  denied_parameters = { "empty" = [1] }
}
path "value/empty" {
  policy = "write"
  allowed_parameters = { "empty" = [1] }
  denied_parameters = { "empty" = [] }
}
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("foo/bar", ParameterRules(denied={"zip": (), "baz": ()}, required=("baz",))),
        ("hello/universe", ParameterRules(allowed={"foo": (), "bar": ()}, required=("foo", "bar"))),
        ("allow/all", ParameterRules(allowed={"*": (), "test": (), "test1": ("foo",)})),
        ("allow/all1", ParameterRules(allowed={"*": (), "test": (), "test1": ("foo",)})),
        ("deny/all", ParameterRules(denied={"*": (), "test": ()})),
        ("deny/all1", ParameterRules(denied={"*": (), "test": ()})),
        # The later block's values come first, as in Vault.
        (
            "value/merge",
            ParameterRules(allowed={"test": (3, 4, 1, 2)}, denied={"test": (3, 4, 1, 2)}),
        ),
        ("value/empty", ParameterRules(allowed={"empty": ()}, denied={"empty": ()})),
    ],
)
def test_vault_policy_merge_table(path: str, expected: ParameterRules) -> None:
    assert acl(ops=MERGING_POLICY).allowed(path, U).parameters == expected


def test_merged_constraints_are_enforced() -> None:
    a = acl(ops=MERGING_POLICY)
    assert not permits(a, "foo/bar", {})  # required baz
    assert not permits(a, "foo/bar", {"baz": "x"})  # ... which is also denied
    assert not permits(a, "hello/universe", {"foo": 1})  # bar is required too
    assert permits(a, "hello/universe", {"foo": 1, "bar": 2})
    assert permits(a, "allow/all", {"other": "x"})  # `*` allows any other name...
    assert not permits(a, "allow/all", {"test1": "bar"})  # ... but a named one keeps its values
    assert not permits(a, "deny/all1", {"other": 1})
    assert permits(a, "value/merge", {"other": 1}) is False  # not an allowed name
    assert permits(a, "value/empty", {"empty": 5}) is False  # any value is denied


# ---- merging across policies ----------------------------------------------------------------

ANY_CREDS = 'path "aws/creds/*" {\n  capabilities = ["read", "create", "update"]\n}\n'
TTL_15M = ANY_CREDS.replace("]\n", ']\n  allowed_parameters = { "ttl" = ["15m"] }\n')


def test_a_grant_without_constraints_does_not_lift_another_policys() -> None:
    a = acl(limited=TTL_15M, open=ANY_CREDS)
    assert permits(a, "aws/creds/x", {"ttl": "15m"})
    assert not permits(a, "aws/creds/x", {"ttl": "12h"})


def test_allowed_values_of_several_policies_are_unioned() -> None:
    longer = TTL_15M.replace('["15m"]', '["1h"]')
    a = acl(short=TTL_15M, long=longer)
    assert permits(a, "aws/creds/x", {"ttl": "15m"})
    assert permits(a, "aws/creds/x", {"ttl": "1h"})
    assert not permits(a, "aws/creds/x", {"ttl": "12h"})
    assert a.allowed("aws/creds/x", R, {"ttl": "1h"}).parameters == ParameterRules(
        allowed={"ttl": ("1h", "15m")}
    )


def test_an_empty_list_in_one_policy_allows_any_value() -> None:
    anything = TTL_15M.replace('["15m"]', "[]")
    assert permits(acl(a=TTL_15M, b=anything), "aws/creds/x", {"ttl": "12h"})
    assert permits(acl(b=anything, a=TTL_15M), "aws/creds/x", {"ttl": "12h"})


def test_required_parameters_of_several_policies_are_unioned() -> None:
    one = 'path "p" {\n  capabilities = ["create", "update"]\n  required_parameters = ["a"]\n}\n'
    two = one.replace('["a"]', '["b", "a"]')
    a = acl(one=one, two=two)
    assert a.allowed("p", U).parameters == ParameterRules(required=("a", "b"))
    assert not permits(a, "p", {"a": 1})
    assert permits(a, "p", {"a": 1, "b": 2})


def test_a_deny_drops_the_constraints_and_refuses() -> None:
    deny = 'path "aws/creds/*" {\n  capabilities = ["deny"]\n}\n'
    for policies in ({"a": TTL_15M, "b": deny}, {"b": deny, "a": TTL_15M}):
        decision = acl(**policies).allowed("aws/creds/x", R, {"ttl": "15m"})
        assert not decision.allowed
        assert decision.parameters is None


# ---- which requests are checked, and how --------------------------------------------------


def test_rules_without_constraints_cost_nothing() -> None:
    assert acl(p=ANY_CREDS).allowed("aws/creds/x", R, {"ttl": "12h"}).parameters is None


def test_reads_are_checked_with_their_query() -> None:
    a = acl(p=TTL_15M)
    assert permits(a, "aws/creds/x", {"ttl": "15m"}, (R, U, C, H))
    assert not permits(a, "aws/creds/x", {"ttl": "12h"}, (R, U, C, H))


def test_list_and_delete_are_not_checked() -> None:
    text = 'path "p/*" {\n  capabilities = ["list", "delete"]\n  required_parameters = ["x"]\n}\n'
    assert permits(acl(p=text), "p/a", {"y": 1}, (L, D))


def test_a_refusal_keeps_the_rules_facts_but_names_no_granting_policy() -> None:
    decision = acl(p=TTL_15M).allowed("aws/creds/x", R, {"ttl": "12h"})
    assert (decision.allowed, decision.granting_policies) == (False, ())
    assert decision.capabilities == frozenset({"read", "create", "update"})


def test_answers_do_not_depend_on_earlier_requests() -> None:
    # Decisions are made once per pattern and capability; a refusal must not stick.
    a = acl(p=TTL_15M)
    answers = [a.allowed("aws/creds/x", R, {"ttl": t}).allowed for t in ("12h", "15m", "12h")]
    assert answers == [False, True, False]
    assert a.allowed("aws/creds/y", R, {"ttl": "15m"}).granting_policies == ("p",)


def test_root_is_never_constrained() -> None:
    root = ACL([parse_policy("root", 'path "x" { capabilities = ["read"] }')])
    assert root.allowed("aws/creds/x", R, {"ttl": "12h"}).allowed


def test_data_defaults_to_nothing_sent() -> None:
    required = 'path "p" {\n  capabilities = ["read"]\n  required_parameters = ["x"]\n}\n'
    assert not acl(p=required).allowed("p", R).allowed
    assert acl(p=TTL_15M).allowed("aws/creds/x", R).allowed


def test_glob_and_segment_rules_carry_constraints() -> None:
    plus = TTL_15M.replace("aws/creds/*", "aws/+/x")
    assert not permits(acl(p=plus), "aws/creds/x", {"ttl": "12h"})
    assert permits(acl(p=plus), "aws/creds/x", {"ttl": "15m"})


def test_absent_parameters_are_checked_only_by_required() -> None:
    assert permits(acl(p=TTL_15M), "aws/creds/x", {})
    assert permits(acl(p=TTL_15M), "aws/creds/x", {"ttl": None})


def test_null_does_not_satisfy_required() -> None:
    # Vault counts a key sent as null as present; a handler reads it as not supplied.
    required = (
        'path "p" {\n  capabilities = ["create", "update"]\n  required_parameters = ["x"]\n}\n'
    )
    assert not permits(acl(p=required), "p", {"x": None})
    assert permits(acl(p=required), "p", {"x": 0})


def test_required_names_the_lowercased_key() -> None:
    text = 'path "p" {\n  capabilities = ["create", "update"]\n  required_parameters = ["Foo"]\n}\n'
    assert permits(acl(p=text), "p", {"foo": "x"})
    assert not permits(acl(p=text), "p", {"Foo": "x"})


def test_names_are_compared_lowercased() -> None:
    assert not permits(acl(p=TTL_15M), "aws/creds/x", {"TTL": "12h"})
    assert permits(acl(p=TTL_15M), "aws/creds/x", {"Ttl": "15m"})


# ---- list values, item by item (Vault 1.21) -----------------------------------------------


def path_rule(key: str, values: str) -> str:
    return (
        f'path "p" {{\n  capabilities = ["create", "update"]\n  {key} = {{ "x" = {values} }}\n}}\n'
    )


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("A", True),
        (["A", "B"], True),
        (["B", "A"], True),
        (["A"], True),
        (["A", "C"], False),
        ("A,B", True),
        (" B , A ", True),
        ("A,C", False),
        ("A,,B", False),  # an empty item is not listed
        ("C", False),
        # No items: Vault 1.21 allows these under any list; here only a list that names them
        # (or allows any value) does.
        ("", False),
        ([], False),
    ],
)
def test_allowed_list_values_are_checked_item_by_item(value: JSONValue, allowed: bool) -> None:
    assert (
        permits(acl(p=path_rule("allowed_parameters", '["A", "B"]')), "p", {"x": value}) is allowed
    )


@pytest.mark.parametrize(
    ("listed", "value", "allowed"),
    [
        ('["", "A"]', "", True),
        ("[[]]", [], True),
        ("[]", "", True),
        ("[]", [], True),
        ('[["A", "B"]]', ["A", "B"], True),  # a listed list still matches the whole value
        ('[["A", "B"]]', ["A"], False),
        ('["a*"]', ["abc", "ax"], True),
        ('["a*"]', ["abc", 5], False),
        ("[1, 2]", [2, 1], True),
        ("[1, 2]", "1", False),  # a string is not a number
    ],
)
def test_allowed_edge_values(listed: str, value: JSONValue, allowed: bool) -> None:
    assert permits(acl(p=path_rule("allowed_parameters", listed)), "p", {"x": value}) is allowed


@pytest.mark.parametrize(
    ("value", "denied"),
    [
        ("C", True),
        (["C", "D"], True),
        (["C"], True),
        (["E", "D"], True),
        ("E,D", True),
        ("E, D", True),
        ("C,D", True),
        (["E"], False),
        ("E", False),
        ("", False),
        ([], False),
        (["CC"], False),
    ],
)
def test_denied_list_values_are_checked_item_by_item(value: JSONValue, denied: bool) -> None:
    allowed = permits(acl(p=path_rule("denied_parameters", '["C", "D"]')), "p", {"x": value})
    assert allowed is not denied


def test_a_denied_glob_applies_to_each_item() -> None:
    a = acl(p=path_rule("denied_parameters", '["admin*"]'))
    assert not permits(a, "p", {"x": ["dev", "admin-all"]})
    assert not permits(a, "p", {"x": "dev, admin-all"})
    assert permits(a, "p", {"x": ["dev", "ops"]})
