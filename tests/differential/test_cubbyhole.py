"""`cubbyhole/` (issue 17 item 15), compared with OpenBao."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import (
    DELETE,
    GET,
    LIST,
    POST,
    PUT,
    Case,
    Target,
    check,
    params,
)

PUT_X = PUT("cubbyhole/diff-x", {"a": "b"})
OTHER = POST("auth/token/create", {"ttl": "1h"}, save={"t": "auth.client_token"})
CLEAN = (DELETE("cubbyhole/diff-x"),)

CASES = [
    Case(
        "cubbyhole in sys/mounts",
        GET("sys/mounts"),
        compare=("status", "data"),
        fields=(("cubbyhole/", "type"), ("cubbyhole/", "local"), ("cubbyhole/", "seal_wrap")),
        item="15",
    ),
    Case("cubbyhole write", PUT("cubbyhole/diff-x", {"a": "b"}), cleanup=CLEAN, item="15"),
    Case("cubbyhole read", GET("cubbyhole/diff-x"), setup=(PUT_X,), cleanup=CLEAN, item="15"),
    Case("cubbyhole list", LIST("cubbyhole/"), setup=(PUT_X,), cleanup=CLEAN, item="15"),
    Case(
        "cubbyhole of another token",
        GET("cubbyhole/diff-x", token="$t"),
        setup=(PUT_X, OTHER),
        cleanup=CLEAN,
        item="15",
    ),
    Case("cubbyhole delete", DELETE("cubbyhole/diff-x"), setup=(PUT_X,), item="15"),
    Case("cubbyhole read missing", GET("cubbyhole/diff-none"), item="15"),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
