"""The README's walkthrough, run block by block against `awsbroker server --dev
--dev-aws-emulator` (what `scripts/dev` starts): every block must exit 0, and print something
where the README shows output. So the README never drifts from the product."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import walkthrough
from tests.support.cli import clean_environ
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running

BLOCKS = walkthrough.blocks(walkthrough.README.read_text())
# Blocks whose output is the same on every run (no keys, IDs or times): compared exactly. The
# status of a dev server (in memory, so "HA Enabled false") is one.
EXACT = {"status"}


def test_the_readme_has_a_walkthrough() -> None:
    names = [b.name for b in BLOCKS]
    assert len(names) == len(set(names)) >= 8, names
    assert all(b.output for b in BLOCKS), "every block shows its output"
    assert set(names) >= EXACT


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    port = free_port()
    args = ["--dev", "--dev-aws-emulator", "--dev-listen-address", f"{HOST}:{port}"]
    args += ["--dev-root-token-id", ROOT_TOKEN]
    workdir = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(workdir))  # the emulator's log dir, not in the real /tmp
        with running(ServerProcess(workdir, args, port)) as server:
            yield server


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_walkthrough_block(
    block: walkthrough.Block, emulated: ServerProcess, tmp_path: Path
) -> None:
    env = {
        **clean_environ(),
        "PATH": f"{Path(sys.executable).parent}:{clean_environ().get('PATH', '')}",
        "HOME": str(tmp_path),
        "AWSBROKER_TOKEN_FILE": str(emulated.token_file),
        "AWSBROKER_CACHE_DIR": str(tmp_path / "cache"),
    }
    result = walkthrough.run(block, emulated.url, env)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip(), "the README shows output for this block"
    if block.name in EXACT:
        assert result.stdout == block.output
