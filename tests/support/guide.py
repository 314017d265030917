"""docs/production.md as data, and a shell session that runs its blocks in order.

The guide marks each fenced block:

- `<!-- walkthrough: NAME -->` before a ```sh block (and its ```text output): run by the suite;
- `<!-- not run: REASON -->` before a ```sh (or other) block the suite cannot run;
- `<!-- file: PATH -->` before a block that is the content of a file of the repository.

`Session` runs blocks as an operator would in one terminal: each block in `bash -euo pipefail`,
in one working directory, with the variables the previous blocks exported. The guide's names
(`/var/lib/awsbroker`, `broker.example.com:8200`, ...) are replaced by the test's
(`substitutions`) before a block runs, and back in what it printed.

`AWSBROKER_GUIDE_RECORD=1` makes the tests write what each block printed into the guide as its
output (`record`), as `python -m tests.support.walkthrough` does for the README.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import walkthrough

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "production.md"
RECORD = os.environ.get("AWSBROKER_GUIDE_RECORD") == "1"
_FENCE = re.compile(
    r"<!-- (?P<kind>walkthrough|not run|file): (?P<arg>[^>]*?) -->\n```(?P<lang>\w*)\n"
)
# What changes from run to run: keys, tokens, IDs and paths of temporary directories (long
# runs of such characters), times, and numbers.
_VARIABLE = [
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z"), "<time>"),
    (re.compile(r"[A-Za-z0-9+/=._:-]{16,}"), "<value>"),
    (re.compile(r"\d+"), "<n>"),
    (re.compile(r"[ \t]+"), " "),
]


def blocks() -> dict[str, walkthrough.Block]:
    found = walkthrough.blocks(GUIDE.read_text())
    return {b.name: b for b in found}


def marked_fences(text: str) -> tuple[list[tuple[str, str, str]], int]:
    """The fences preceded by a marker, as (kind, argument, language), and how many fences
    there are in all (closing ones excluded)."""
    marked = [(m["kind"], m["arg"], m["lang"]) for m in _FENCE.finditer(text)]
    opening = 0
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            if not inside:
                opening += 1
            inside = not inside
    return marked, opening


def file_blocks(text: str) -> dict[str, str]:
    """`<!-- file: PATH -->` blocks: PATH to the block's content."""
    pattern = re.compile(r"<!-- file: (?P<path>[^>]*?) -->\n```\w*\n(?P<body>.*?)```\n", re.DOTALL)
    return {m["path"]: m["body"] for m in pattern.finditer(text)}


def mask(text: str) -> list[str]:
    """`text`'s lines with what varies between runs masked."""
    lines = []
    for line in text.strip().splitlines():
        masked = line
        for pattern, replacement in _VARIABLE:
            masked = pattern.sub(replacement, masked)
        lines.append(masked.strip())
    return lines


@dataclass
class Session:
    """One operator's terminal: a working directory, an environment, and exported state."""

    workdir: Path
    env: dict[str, str]
    substitutions: dict[str, str]
    printed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # each block's last run
    # Rewrites of what a block printed before it is compared with the guide's output.
    aliases: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._state = self.workdir / ".exported"
        self._state.write_text("")

    def to_test(self, text: str) -> str:
        for guide_value, test_value in self.substitutions.items():
            text = text.replace(guide_value, test_value)
        return text

    def to_guide(self, text: str) -> str:
        pairs = sorted(self.substitutions.items(), key=lambda kv: len(kv[1]), reverse=True)
        for guide_value, test_value in pairs:
            text = text.replace(test_value, guide_value)
        return text

    def run(
        self,
        block: walkthrough.Block,
        stdin: str | None = None,
        *,
        compare: bool = True,
    ) -> str:
        """Run `block`; it must exit 0 and (unless not `compare`) print what the guide shows,
        masked. Its output, in the guide's names."""
        script = "\n".join(
            [
                f"source {self._state}",
                self.to_test(block.script),
                "export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_)=' > "
                f"{self._state}.new && mv {self._state}.new {self._state}",
            ]
        )
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            input=stdin if stdin is not None else "",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=120,
            check=False,
        )
        self.seconds[block.name] = time.monotonic() - started
        printed = self.to_guide(result.stdout)
        assert result.returncode == 0, f"block {block.name} failed:\n{printed}"
        self.printed[block.name] = printed
        if compare and not RECORD:
            assert block.output is not None, f"block {block.name} shows no output"
            compared = printed
            for pattern, replacement in self.aliases:
                compared = pattern.sub(replacement, compared)
            assert mask(compared) == mask(block.output), (
                f"block {block.name} printed:\n{printed}\nthe guide shows:\n{block.output}"
            )
        return printed


def record(printed: dict[str, str]) -> None:
    """Write each block's output into the guide (AWSBROKER_GUIDE_RECORD=1)."""
    text = GUIDE.read_text()
    out = []
    position = 0
    for block in walkthrough.blocks(text):
        start, end = block.span
        out.append(text[position:start])
        out.append(f"<!-- walkthrough: {block.name} -->\n```sh\n{block.script}```\n")
        shown = printed.get(block.name, block.output)
        if shown is not None and shown.strip():
            out.append(f"```text\n{shown.rstrip()}\n```\n")
        position = end
    out.append(text[position:])
    GUIDE.write_text("".join(out))


def run_checked(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )
