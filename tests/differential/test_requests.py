"""How requests are read and refused, whatever the path: a `null` body (issue 17 item 1: what
`vault write -f` and Go's `Logical().Write(path, nil)` send), `?help=1` (item 2: help, never
the handler), a body that is not JSON, unknown paths, no token, a bad token, and a limited token
refused (permission denied)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import GET, LIST, POST, PUT, Case, Target, check, params

LIMITED = (
    PUT("sys/policy/diff-limited", {"policy": 'path "sys/policy/*" { capabilities = ["read"] }'}),
    POST(
        "auth/token/create",
        {"policies": ["diff-limited"], "no_default_policy": True},
        save={"lim": "auth.client_token"},
    ),
)
HELP = ("status", "envelope")

CASES = [
    Case("a null body to token create", POST("auth/token/create", b"null"), item="1"),
    Case("a null body to sys/rotate", POST("sys/rotate", b"null"), item="1"),
    Case("a null body to renew-self", POST("auth/token/renew-self", b"null"), item="1"),
    Case("an empty body to token create", POST("auth/token/create", b""), item="1"),
    Case("a body that is not JSON", POST("auth/token/create", b"{nope")),
    Case("a JSON array as the body", POST("auth/token/create", b"[1]")),
    Case("help of sys/policy", GET("sys/policy?help=1"), compare=HELP, item="2"),
    Case("help of auth/token/create", GET("auth/token/create?help=1"), compare=HELP, item="2"),
    Case("help of sys/mounts", GET("sys/mounts?help=1"), compare=HELP, item="2"),
    Case("help without a token", GET("sys/policy?help=1", token=None), item="2"),
    Case(
        "help does not run the handler",
        GET("auth/token/lookup-self?help=1"),
        compare=HELP,
        item="2",
    ),
    Case("an unknown sys path", GET("sys/no-such-thing")),
    Case("an unknown mount", GET("no-such-mount/x")),
    Case("an unknown token path", GET("auth/token/no-such")),
    Case("LIST of an unknown mount", LIST("no-such-mount/")),
    Case("no token", GET("sys/mounts", token=None)),
    Case("a bad token", GET("sys/mounts", token="bogus")),
    Case("a limited token: allowed", GET("sys/policy/default", token="$lim"), setup=LIMITED),
    Case("a limited token: denied read", GET("sys/mounts", token="$lim"), setup=LIMITED),
    Case(
        "a limited token: denied write",
        PUT("sys/policy/diff-x", {"policy": ""}, token="$lim"),
        setup=LIMITED,
    ),
    Case(
        "a limited token: denied token create",
        POST("auth/token/create", {}, token="$lim"),
        setup=LIMITED,
    ),
    Case(
        "a limited token: its own lookup-self",
        GET("auth/token/lookup-self", token="$lim"),
        setup=LIMITED,
    ),
    Case("PUT on a read-only path", PUT("sys/seal-status", {})),
]

JSON_ERROR = (
    "Same status (400) and prefix; the rest is the JSON decoder's own words (Python's, not "
    "Go's), with where it stopped."
)
EXPECTED: dict[str, dict[str, str]] = {
    "a body that is not JSON": {
        "errors: openbao [\"failed to decode JSON input: invalid character 'o' in literal null "
        "(expecting 'u')\"], awsbroker ['failed to parse JSON input: Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)']": JSON_ERROR,
    },
    "a JSON array as the body": {
        "errors: openbao ['failed to decode JSON input: json: cannot unmarshal array into Go "
        "value of type map[string]interface {}'], awsbroker ['failed to parse JSON input: the "
        "body must be a JSON object']": JSON_ERROR,
    },
    "help does not run the handler": {
        "envelope: key 'id' only in openbao": "OpenBao's help answer for `lookup-self` echoes the "
        "caller's token in `id`; Vault's help answer has no such key, and a token is never "
        "echoed here.",
    },
    "PUT on a read-only path": {
        "errors: openbao [], awsbroker ['unsupported operation']": "Same status (405); we say "
        "why rather than send an empty list.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
