"""Tokens' leases through the lease API (issue 17 item 10), compared with OpenBao."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import LIST, POST, PUT, Case, Target, check, params

# Through a token role, so that the leases listed under its prefix are only the tokens made here
# (OpenBao's dev root token has a lease under auth/token/create/ too, with no expiry).
ROLE = POST("auth/token/roles/diff-leases", {"allowed_policies": ["default"]})
MAKE = POST(
    "auth/token/create/diff-leases",
    {"policies": ["default"], "ttl": "1h"},
    save={"t": "auth.client_token"},
)
FIND = LIST("sys/leases/lookup/auth/token/create/diff-leases/", save={"k": "data.keys.0"})

CASES = [
    Case(
        "token leases listed",
        LIST("sys/leases/lookup/auth/token/create/"),
        setup=(ROLE, MAKE),
        item="10",
    ),
    Case(
        "a token's lease looked up",
        PUT("sys/leases/lookup", {"lease_id": "auth/token/create/diff-leases/$k"}),
        setup=(ROLE, MAKE, FIND),
        item="10",
    ),
    Case(
        "a token's lease renewed",
        PUT("sys/leases/renew", {"lease_id": "auth/token/create/diff-leases/$k"}),
        setup=(ROLE, MAKE, FIND),
        item="10",
    ),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
