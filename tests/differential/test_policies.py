"""ACL policies: write, read, list, delete through `sys/policy` and `sys/policies/acl`;
`LIST sys/policy` (issue 17 item 9), a policy sent base64-encoded (item 8), bad HCL, the
`root` and `default` policies."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, LIST, PUT, Case, Target, check, params

HCL = 'path "secret/*" { capabilities = ["read", "list"] }\n'
B64 = base64.b64encode(HCL.encode()).decode()
WRITE = PUT("sys/policy/diff-p", {"policy": HCL})
WRITE_ACL = PUT("sys/policies/acl/diff-acl", {"policy": HCL})

CASES = [
    Case("write sys/policy", PUT("sys/policy/diff-w", {"policy": HCL})),
    Case("read sys/policy", GET("sys/policy/diff-p"), setup=(WRITE,)),
    Case("read sys/policy default", GET("sys/policy/default"), compare=("status", "envelope")),
    Case("read sys/policy root", GET("sys/policy/root")),
    Case("read a missing policy", GET("sys/policy/diff-none")),
    Case("GET sys/policy", GET("sys/policy"), setup=(WRITE,), fields=(("keys",), ("policies",))),
    Case(
        "LIST sys/policy",
        LIST("sys/policy"),
        setup=(WRITE,),
        fields=(("keys",), ("policies",)),
        item="9",
        values=("data.keys", "data.policies", "keys", "policies"),
    ),
    Case("delete sys/policy", DELETE("sys/policy/diff-p"), setup=(WRITE,)),
    Case("delete root", DELETE("sys/policy/root")),
    Case("delete default", DELETE("sys/policy/default")),
    Case("write sys/policies/acl", PUT("sys/policies/acl/diff-w2", {"policy": HCL})),
    Case("read sys/policies/acl", GET("sys/policies/acl/diff-acl"), setup=(WRITE_ACL,)),
    Case("LIST sys/policies/acl", LIST("sys/policies/acl"), setup=(WRITE_ACL,)),
    Case("read a missing acl policy", GET("sys/policies/acl/diff-none")),
    Case("delete sys/policies/acl", DELETE("sys/policies/acl/diff-acl"), setup=(WRITE_ACL,)),
    Case(
        "a policy sent base64-encoded",
        PUT("sys/policies/acl/diff-b64", {"policy": B64}),
        item="8",
    ),
    Case(
        "a base64 policy reads back decoded",
        GET("sys/policies/acl/diff-b64r"),
        setup=(PUT("sys/policies/acl/diff-b64r", {"policy": B64}),),
        item="8",
        values=("data.policy", "data.name"),
    ),
    Case("bad HCL", PUT("sys/policy/diff-bad", {"policy": 'path "x" { capabilities = '})),
    Case("an empty policy", PUT("sys/policy/diff-empty", {"policy": ""})),
    Case(
        "an unknown capability",
        PUT("sys/policy/diff-cap", {"policy": 'path "x" { capabilities = ["fly"] }'}),
    ),
    Case("write root", PUT("sys/policy/root", {"policy": HCL})),
]

HCL_ERROR = (
    "Same status (400) and prefix `failed to parse policy:`; the parser is another (python-hcl2, "
    "not HashiCorp's Go HCL), so the position and words of a syntax error differ."
)
EXPECTED: dict[str, dict[str, str]] = {
    "bad HCL": {
        "errors: openbao ['failed to parse policy: At 1:28: object expected closing RBRACE got: "
        "EOF'], awsbroker [\"failed to parse policy: invalid HCL at line 1, column 27: Unexpected "
        "token Token('STRING_CHARS', '\\\\n') at line 1, column 27.\"]": HCL_ERROR,
    },
    "an unknown capability": {
        'errors: openbao [\'failed to parse policy: path "x": path "x": invalid capability '
        '"fly"\'], awsbroker [\'failed to parse policy: path "x": invalid capability '
        '"fly"\']': "OpenBao names the path twice; once is enough.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
