"""Parsing ACL policies: HCL and JSON forms, the legacy `policy =` form, and the errors."""

from __future__ import annotations

import json

import pytest

from awsbroker.policy.parse import PathRule, Policy, normalize_name, parse_policy
from awsbroker.sdk.errors import InvalidRequest

HCL = """
# A comment, and a block with a leading slash
path "/secret/*" {
  capabilities = ["read", "list"]
}

// another comment style
path "secret/foo" {
  capabilities = ["create", "update", "patch", "delete", "sudo"]
}
"""


def _rules(policy: Policy) -> dict[str, frozenset[str]]:
    return {rule.pattern: rule.capabilities for rule in policy.rules}


def test_hcl_blocks() -> None:
    policy = parse_policy("dev", HCL)
    assert policy.name == "dev"
    assert policy.raw == HCL
    assert _rules(policy) == {
        "secret/*": frozenset({"read", "list"}),
        "secret/foo": frozenset({"create", "update", "patch", "delete", "sudo"}),
    }


def test_json_form_matches_hcl() -> None:
    text = json.dumps(
        {
            "path": {
                "/secret/*": {"capabilities": ["read", "list"]},
                "secret/foo": {"capabilities": ["create", "update", "patch", "delete", "sudo"]},
            }
        }
    )
    assert _rules(parse_policy("dev", text)) == _rules(parse_policy("dev", HCL))


def test_json_list_form() -> None:
    text = '{"path": [{"a/*": {"capabilities": ["read"]}}, {"b": {"policy": "read"}}]}'
    assert _rules(parse_policy("p", text)) == {
        "a/*": frozenset({"read"}),
        "b": frozenset({"read", "list"}),
    }


def test_repeated_pattern_keeps_both_blocks() -> None:
    text = 'path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }'
    policy = parse_policy("p", text)
    assert [r.capabilities for r in policy.rules] == [frozenset({"read"}), frozenset({"list"})]


def test_raw_text_is_kept_byte_for_byte() -> None:
    text = '  path "x" {capabilities=["read"]}   \n\n'
    assert parse_policy("p", text).raw == text


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("deny", {"deny"}),
        ("read", {"read", "list"}),
        ("write", {"create", "read", "update", "delete", "list"}),
        ("sudo", {"create", "read", "update", "delete", "list", "sudo"}),
    ],
)
def test_legacy_policy_form(legacy: str, expected: set[str]) -> None:
    policy = parse_policy("p", f'path "secret/*" {{\n  policy = "{legacy}"\n}}\n')
    assert policy.rules[0].capabilities == frozenset(expected)


def test_legacy_and_capabilities_union() -> None:
    policy = parse_policy("p", 'path "a" {\n policy = "read"\n capabilities = ["update"]\n}')
    assert policy.rules[0].capabilities == frozenset({"read", "list", "update"})


def test_deny_absorbs_other_capabilities_in_a_block() -> None:
    policy = parse_policy("p", 'path "a" { capabilities = ["read", "deny", "sudo"] }')
    assert policy.rules[0].capabilities == frozenset({"deny"})


def test_empty_policy_has_no_rules() -> None:
    assert parse_policy("p", "").rules == ()
    assert parse_policy("p", "# nothing\n").rules == ()
    assert parse_policy("p", "{}").rules == ()


def test_name_key_is_accepted() -> None:
    assert parse_policy("p", 'name = "x"\npath "a" { capabilities = [] }').rules[0] == PathRule(
        "a", frozenset()
    )


def test_parameters_and_wrapping_ttls_are_kept() -> None:
    text = """
path "secret/foo" {
  capabilities = ["create"]
  comment = "kept out of the rule"
  allowed_parameters = {
    "Bar" = ["zip", "zap"]
    "*" = []
  }
  denied_parameters = {
    "baz" = []
  }
  required_parameters = ["bar"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
}
"""
    rule = parse_policy("p", text).rules[0]
    assert rule.allowed_parameters == {"bar": ("zip", "zap"), "*": ()}
    assert rule.denied_parameters == {"baz": ()}
    assert rule.required_parameters == ("bar",)
    assert (rule.min_wrapping_ttl, rule.max_wrapping_ttl) == (1, 90)


def test_rule_flags() -> None:
    text = """
path "a/b" { capabilities = ["read"] }
path "a/b*" { capabilities = ["read"] }
path "a/+/c" { capabilities = ["read"] }
path "a/+/c*" { capabilities = ["read"] }
path "a/b+c" { capabilities = ["read"] }
"""
    flags = [(r.is_prefix, r.has_segment_wildcards) for r in parse_policy("p", text).rules]
    assert flags == [(False, False), (True, False), (False, True), (True, True), (False, False)]


def test_normalize_name() -> None:
    assert normalize_name("  My-Policy \n") == "my-policy"


def _error(text: str) -> str:
    with pytest.raises(InvalidRequest) as info:
        parse_policy("p", text)
    (message,) = info.value.messages
    assert message.startswith("failed to parse policy: ")
    return message


def test_unknown_capability() -> None:
    message = _error('path "secret/*" { capabilities = ["read", "admin"] }')
    assert message == 'failed to parse policy: path "secret/*": invalid capability "admin"'


def test_unknown_capability_in_json() -> None:
    message = _error('{"path": {"a": {"capabilities": ["write"]}}}')
    assert 'path "a": invalid capability "write"' in message


def test_capabilities_not_a_list() -> None:
    assert "capabilities must be a list" in _error('path "a" { capabilities = "read" }')


def test_unknown_legacy_policy() -> None:
    assert 'path "a": invalid policy "admin"' in _error('path "a" { policy = "admin" }')


def test_plus_star_is_forbidden() -> None:
    assert "'+*' is forbidden" in _error('path "secret/+*" { capabilities = ["read"] }')


def test_star_not_at_end_is_forbidden() -> None:
    message = _error('path "secret/*/foo" { capabilities = ["read"] }')
    assert 'path "secret/*/foo"' in message
    assert "only allowed as the last character" in message


def test_unknown_key_in_path_block() -> None:
    message = _error('path "a" {\n  capabilities = ["read"]\n  capabilties = ["list"]\n}')
    assert message == 'failed to parse policy: path "a": invalid key "capabilties"'


def test_unknown_top_level_key() -> None:
    assert 'invalid key "paths"' in _error('paths "a" { capabilities = ["read"] }')


@pytest.mark.parametrize(
    "text",
    ["this is not a policy", 'path "a" { capabilities = ["read" }', 'path "a" {', "}{"],
)
def test_garbage_hcl_reports_where(text: str) -> None:
    message = _error(text)
    assert "invalid HCL at line 1, column" in message


def test_garbage_json_reports_where() -> None:
    message = _error('{"path": {"a": }}')
    assert "invalid JSON at line 1, column 16" in message


def test_json_root_must_be_object_of_paths() -> None:
    assert '"path" must be a block' in _error('{"path": 3}')
    assert "body must be an object" in _error('{"path": {"a": ["read"]}}')


def test_block_without_pattern() -> None:
    assert "needs a pattern" in _error('path { capabilities = ["read"] }')


def test_bad_parameters() -> None:
    assert "non-tail wildcards" in _error('path "a" { allowed_parameters = { "a*" = [] } }')
    assert "values must be a list" in _error('path "a" { denied_parameters = { "a" = "x" } }')
    assert "wildcard is not permitted" in _error('path "a" { required_parameters = ["*"] }')
    assert "must be a list of strings" in _error('path "a" { required_parameters = "x" }')
    assert "must be a map" in _error('path "a" { allowed_parameters = ["x"] }')


def test_wildcard_parameter_keys_that_are_allowed() -> None:
    text = 'path "a" { allowed_parameters = { "*" = [], "/data/*" = ["x"] } }'
    assert parse_policy("p", text).rules[0].allowed_parameters == {"*": (), "/data/*": ("x",)}


def test_bad_wrapping_ttls() -> None:
    assert "error parsing min_wrapping_ttl" in _error('path "a" { min_wrapping_ttl = "soon" }')
    message = _error('path "a" {\n min_wrapping_ttl = "1h"\n max_wrapping_ttl = "1m"\n}')
    assert "max_wrapping_ttl cannot be less than min_wrapping_ttl" in message


def test_two_labels_on_a_path_block() -> None:
    message = _error('path "a" "b" { capabilities = ["read"] }')
    assert message == 'failed to parse policy: path "a": invalid key "b"'
