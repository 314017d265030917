"""Token roles (`auth/token/roles/:name`) and tokens made from them: both servers serve them."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, LIST, POST, Case, Target, check, params

ROLE = POST(
    "auth/token/roles/diff-role",
    {"allowed_policies": ["p1", "p2"], "orphan": True, "token_period": "1h"},
)
CLEAN = (DELETE("auth/token/roles/diff-role"),)

CASES = [
    Case(
        "role written",
        POST("auth/token/roles/diff-role", {"allowed_policies": "p1"}),
        cleanup=CLEAN,
    ),
    Case(
        "role read",
        GET("auth/token/roles/diff-role"),
        setup=(ROLE,),
        cleanup=CLEAN,
        values=("data.allowed_policies", "data.orphan", "data.token_period"),
    ),
    Case("roles listed", LIST("auth/token/roles"), setup=(ROLE,), cleanup=CLEAN),
    Case("a missing role read", GET("auth/token/roles/diff-none")),
    Case("role deleted", DELETE("auth/token/roles/diff-role"), setup=(ROLE,)),
    Case(
        "a token from the role",
        POST("auth/token/create/diff-role", {"policies": ["p1"]}),
        setup=(ROLE,),
        cleanup=CLEAN,
        values=("auth.policies", "auth.orphan", "auth.lease_duration", "auth.renewable"),
    ),
    Case(
        "a token from the role asking a policy it does not allow",
        POST("auth/token/create/diff-role", {"policies": ["p3"]}),
        setup=(ROLE,),
        cleanup=CLEAN,
    ),
    Case("a token from a missing role", POST("auth/token/create/diff-none", {})),
    Case(
        "role with a batch token type",
        POST("auth/token/roles/diff-batch", {"token_type": "batch"}),
        cleanup=(DELETE("auth/token/roles/diff-batch"),),
    ),
]

EXPECTED: dict[str, dict[str, str]] = {
    "role read": {
        "data.allowed_entity_aliases: openbao NoneType, awsbroker list": "An empty list rather "
        "than Go's nil slice: the same meaning (docs/compatibility.md, token roles).",
    },
    "role with a batch token type": {
        "errors: openbao [\"'token_type' cannot be 'batch' when role is set to generate "
        'non-orphan tokens"], awsbroker ["batch tokens are not supported; set token_type to '
        "'default-service' or 'service'\"]": "No batch tokens here at all (docs/compatibility.md"
        "); the refusal says so, whatever the role's other fields.",
    },
}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
