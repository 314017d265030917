"""The README's walkthrough as data: each `<!-- walkthrough: NAME -->` marker is followed by a
```sh block of commands and, optionally, a ```text block of their real output.

`python -m tests.support.walkthrough ADDRESS` runs every block against a dev server started
with `scripts/dev` (or `awsbroker server --dev --dev-aws-emulator --dev-root-token-id root`) at
ADDRESS and rewrites the output blocks with what the commands printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
DEFAULT_ADDRESS = "http://127.0.0.1:8200"
_BLOCK = re.compile(
    r"<!-- walkthrough: (?P<name>[\w-]+) -->\n```sh\n(?P<script>.*?)```\n"
    r"(?:```text\n(?P<output>.*?)```\n)?",
    re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    name: str
    script: str
    output: str | None
    span: tuple[int, int]


def blocks(text: str) -> list[Block]:
    return [Block(m["name"], m["script"], m["output"], m.span()) for m in _BLOCK.finditer(text)]


def run(block: Block, address: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a block's commands with bash (-e, -o pipefail) against `address`."""
    script = block.script.replace(DEFAULT_ADDRESS, address)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "AWSBROKER_ADDR": address},
        cwd=README.parent,
        timeout=120,
        check=False,
    )


def update(address: str) -> None:
    text = README.read_text()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    out = []
    position = 0
    for block in blocks(text):
        result = run(block, address, env)
        if result.returncode != 0:
            raise SystemExit(f"block {block.name} failed:\n{result.stdout}")
        printed = result.stdout.replace(address, DEFAULT_ADDRESS)
        start, end = block.span
        out.append(text[position:start])
        out.append(f"<!-- walkthrough: {block.name} -->\n```sh\n{block.script}```\n")
        if printed.strip():
            out.append(f"```text\n{printed.rstrip()}\n```\n")
        position = end
    out.append(text[position:])
    README.write_text("".join(out))


if __name__ == "__main__":
    update(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_ADDRESS)
