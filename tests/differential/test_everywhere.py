"""Each difference kept everywhere (everywhere.py) still shows in its example case: when the
difference goes, its rule must go too."""

from __future__ import annotations

from typing import Any

import pytest
from tests.differential.everywhere import EVERYWHERE
from tests.differential.harness import Everywhere, Target, run_case


@pytest.mark.parametrize("rule", EVERYWHERE, ids=[rule.example.id for rule in EVERYWHERE])
def test_the_difference_still_shows(
    rule: Everywhere, targets: tuple[Target, Target], record_property: Any
) -> None:
    found = run_case(rule.example, targets)
    record_property("differential", {"case": rule.example.id, "differences": len(found)})
    assert any(rule.explains(line) for line in found), (rule.pattern, found)
