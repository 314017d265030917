"""Rekey and generate-root (issue 17 item 14). Both servers at their defaults: Vault's
token-less `sys/rekey/*` and `sys/generate-root/*` are gone on both (the listener's
`disable_unauthed_*` switches, true unless set to false), 405 `unsupported operation` whatever
the method or token. Each attempt started is cancelled after its case, so the servers stay as
they were."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, PUT, Case, Target, check, params

NO_REKEY = (DELETE("sys/rekey/init"),)
NO_ROOT = (DELETE("sys/generate-root/attempt"),)

CASES = [
    Case("rekey status", GET("sys/rekey/init"), item="14"),
    Case(
        "rekey init",
        PUT("sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "rekey init with a threshold over the shares",
        PUT("sys/rekey/init", {"secret_shares": 1, "secret_threshold": 2}),
        cleanup=NO_REKEY,
        item="14",
    ),
    Case(
        "rekey update without an attempt",
        PUT("sys/rekey/update", {"key": "AAAA", "nonce": "x"}),
        item="14",
    ),
    Case("rekey cancel", DELETE("sys/rekey/init"), item="14"),
    Case("rekey backup without PGP", GET("sys/rekey/backup"), item="14"),
    Case("rekey verify status", GET("sys/rekey/verify"), item="14"),
    Case("generate-root status", GET("sys/generate-root/attempt"), item="14"),
    Case("generate-root start", PUT("sys/generate-root/attempt", {}), cleanup=NO_ROOT, item="14"),
    Case(
        "generate-root update without an attempt",
        PUT("sys/generate-root/update", {"key": "AAAA", "nonce": "x"}),
        item="14",
    ),
    Case("generate-root cancel", DELETE("sys/generate-root/attempt"), item="14"),
    Case(
        "decode-token of a bogus token",
        PUT("sys/decode-token", {"encoded_token": "AAAA", "otp": "BBBB"}),
        item="14",
    ),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
