"""`sys/remount` and its status (issue 17 item 4), compared with OpenBao."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import DELETE, GET, POST, Case, Target, check, params

ENABLE = POST("sys/mounts/diff-mv-a", {"type": "$engine"})
CLEAN = (DELETE("sys/mounts/diff-mv-a"), DELETE("sys/mounts/diff-mv-b"))
MOVE = POST("sys/remount", {"from": "diff-mv-a", "to": "diff-mv-b"}, save={"mid": "migration_id"})

CASES = [
    Case(
        "remount",
        POST("sys/remount", {"from": "diff-mv-a", "to": "diff-mv-b"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
        item="4",
    ),
    Case(
        "remount status",
        GET("sys/remount/status/$mid"),
        setup=(ENABLE, MOVE),
        cleanup=CLEAN,
        item="4",
    ),
    Case(
        "remount of a missing mount",
        POST("sys/remount", {"from": "diff-none", "to": "diff-mv-c"}),
        item="4",
    ),
    Case(
        "remount onto a taken path",
        POST("sys/remount", {"from": "diff-mv-a", "to": "sys"}),
        setup=(ENABLE,),
        cleanup=CLEAN,
        item="4",
    ),
    Case("remount status of a bogus id", GET("sys/remount/status/bogus"), item="4"),
]

EXPECTED: dict[str, dict[str, str]] = {}


@pytest.mark.parametrize("case", params(CASES))
def test_same_as_openbao(case: Case, targets: tuple[Target, Target], record_property: Any) -> None:
    check(case, targets, EXPECTED, record_property, EVERYWHERE)
