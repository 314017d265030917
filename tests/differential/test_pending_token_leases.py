"""Tokens' leases through the lease API (issue 17 item 10): pending until the token leases
branch lands (strict xfail: a case that passes then fails as XPASS, and its mark goes)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import LIST, POST, PUT, Case, Target, check, params, pending

MAKE = POST(
    "auth/token/create", {"policies": ["default"], "ttl": "1h"}, save={"t": "auth.client_token"}
)
FIND = LIST("sys/leases/lookup/auth/token/create/", save={"k": "data.keys.0"})

CASES = [
    Case(
        "token leases listed",
        LIST("sys/leases/lookup/auth/token/create/"),
        setup=(MAKE,),
        item="10",
    ),
    Case(
        "a token's lease looked up",
        PUT("sys/leases/lookup", {"lease_id": "auth/token/create/$k"}),
        setup=(MAKE, FIND),
        item="10",
    ),
    Case(
        "a token's lease renewed",
        PUT("sys/leases/renew", {"lease_id": "auth/token/create/$k"}),
        setup=(MAKE, FIND),
        item="10",
    ),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES, pending("the sys/remount + token leases helper")))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
