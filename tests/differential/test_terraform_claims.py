"""docs/compatibility.md's "Terraform's vault provider" names, for each call the provider
makes, the tests that cover it through another client: every test file it names exists, and
every resource row names at least one."""

from __future__ import annotations

import re
from pathlib import Path

from tests.hvac_suite.test_hvac_suite import PASSED

ROOT = Path(__file__).resolve().parents[2]


def _section() -> str:
    text = (ROOT / "docs" / "compatibility.md").read_text()
    start = text.index("## Terraform's vault provider")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_every_test_file_named_exists() -> None:
    section = _section()
    named = set(re.findall(r"`((?:tests/[\w/]+/)?test_\w+\.py)`", section))
    assert named
    tests = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").rglob("test_*.py")}
    basenames = {Path(path).name for path in tests}
    hvac_named = set(re.findall(r"hvac's(?: own)? `(test_\w+\.py)`", section))
    for name in named - hvac_named:
        assert name in tests or name in basenames, name


def test_every_hvac_file_named_runs_in_the_hvac_suite() -> None:
    hvac_named = set(re.findall(r"hvac's(?: own)? `(test_\w+\.py)`", _section()))
    assert hvac_named
    running = {Path(name).name for name, passed in PASSED.items() if passed}
    assert hvac_named <= running, hvac_named - running


def test_every_row_names_a_test() -> None:
    rows = [
        line
        for line in _section().splitlines()
        if line.startswith("| `") or line.startswith("| the provider")
    ]
    assert len(rows) >= 8
    for row in rows:
        covered = row.rstrip(" |").rsplit("|", 1)[-1]
        assert "test_" in covered, row
