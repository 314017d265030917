"""Token store: create (issue 17 item 3: `policies` as one string stays one name,
`token_policies` splits), lookup, lookup-self, lookup-accessor, renew (item 7: a bogus token),
revoke, capabilities, orphans."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import GET, POST, Case, Target, check, params

MAKE = POST(
    "auth/token/create",
    {"policies": ["default"], "ttl": "1h"},
    save={"t": "auth.client_token", "a": "auth.accessor"},
)

CASES = [
    Case(
        "create",
        POST("auth/token/create", {"policies": ["default"], "ttl": "1h"}),
        values=("auth.policies", "auth.renewable", "auth.lease_duration", "auth.orphan"),
    ),
    Case(
        "create with metadata and no default policy",
        POST(
            "auth/token/create",
            {"policies": ["p1"], "no_default_policy": True, "meta": {"team": "a"}, "ttl": "30m"},
        ),
    ),
    Case("create orphan", POST("auth/token/create-orphan", {"ttl": "1h"})),
    Case(
        "policies as one comma string stays one name",
        POST(
            "auth/token/create", {"policies": "a,b", "ttl": "1h"}, save={"t": "auth.client_token"}
        ),
        item="3",
        values=("auth.policies", "auth.token_policies"),
    ),
    Case(
        "policies as one comma string: the token's policies",
        POST("auth/token/lookup", {"token": "$t"}),
        setup=(
            POST(
                "auth/token/create",
                {"policies": "a,b", "ttl": "1h"},
                save={"t": "auth.client_token"},
            ),
        ),
        item="3",
        values=("data.policies",),
    ),
    Case("lookup-self", GET("auth/token/lookup-self")),
    Case("lookup of a child", POST("auth/token/lookup", {"token": "$t"}), setup=(MAKE,)),
    Case(
        "lookup-accessor",
        POST("auth/token/lookup-accessor", {"accessor": "$a"}),
        setup=(MAKE,),
    ),
    Case("lookup of a bogus token", POST("auth/token/lookup", {"token": "bogus"})),
    Case("renew", POST("auth/token/renew", {"token": "$t", "increment": "2h"}), setup=(MAKE,)),
    Case("renew-self", POST("auth/token/renew-self", {}, token="$t"), setup=(MAKE,)),
    Case("renew of a bogus token", POST("auth/token/renew", {"token": "bogus"}), item="7"),
    Case("renew of the root token", POST("auth/token/renew-self", {})),
    Case("revoke", POST("auth/token/revoke", {"token": "$t"}), setup=(MAKE,)),
    Case(
        "a revoked token is refused",
        GET("auth/token/lookup-self", token="$t"),
        setup=(MAKE, POST("auth/token/revoke", {"token": "$t"})),
    ),
    Case("revoke-accessor", POST("auth/token/revoke-accessor", {"accessor": "$a"}), setup=(MAKE,)),
    Case("revoke-orphan", POST("auth/token/revoke-orphan", {"token": "$t"}), setup=(MAKE,)),
    Case("revoke-self", POST("auth/token/revoke-self", token="$t"), setup=(MAKE,)),
    Case(
        "capabilities",
        POST(
            "sys/capabilities", {"token": "$t", "paths": ["sys/mounts", "auth/token/lookup-self"]}
        ),
        setup=(MAKE,),
    ),
    Case(
        "capabilities-self",
        POST("sys/capabilities-self", {"paths": ["sys/mounts"]}),
        values=("data.capabilities", "data.sys/mounts"),
    ),
    Case(
        "capabilities-accessor",
        POST("sys/capabilities-accessor", {"accessor": "$a", "path": "sys/policy"}),
        setup=(MAKE,),
    ),
    Case("accessors listed", GET("auth/token/accessors?list=true"), compare=("status", "envelope")),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
