"""Response wrapping (issue 17 item 13), compared with OpenBao."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import POST, Case, Target, check, params

WRAP = {"X-Vault-Wrap-TTL": "5m"}
WRAPPED = POST("sys/wrapping/wrap", {"a": "b"}, headers=WRAP, save={"w": "wrap_info.token"})

CASES = [
    Case(
        "a token create wrapped", POST("auth/token/create", {"ttl": "1h"}, headers=WRAP), item="13"
    ),
    Case("wrap", POST("sys/wrapping/wrap", {"a": "b"}, headers=WRAP), item="13"),
    Case("wrap without a TTL", POST("sys/wrapping/wrap", {"a": "b"}), item="13"),
    Case(
        "wrapping lookup",
        POST("sys/wrapping/lookup", {"token": "$w"}, token=None),
        setup=(WRAPPED,),
        item="13",
    ),
    Case("unwrap", POST("sys/wrapping/unwrap", {}, token="$w"), setup=(WRAPPED,), item="13"),
    Case(
        "unwrap by body", POST("sys/wrapping/unwrap", {"token": "$w"}), setup=(WRAPPED,), item="13"
    ),
    Case(
        "unwrap twice",
        POST("sys/wrapping/unwrap", {"token": "$w"}),
        setup=(WRAPPED, POST("sys/wrapping/unwrap", {"token": "$w"})),
        item="13",
    ),
    Case("rewrap", POST("sys/wrapping/rewrap", {"token": "$w"}), setup=(WRAPPED,), item="13"),
    Case("unwrap a bogus token", POST("sys/wrapping/unwrap", {"token": "bogus"}), item="13"),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
