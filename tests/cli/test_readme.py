"""The README's walkthrough, run block by block against `awsbroker server --dev
--dev-aws-emulator` (what `scripts/dev` starts): every block must exit 0, and print something
where the README shows output. So the README never drifts from the product."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import walkthrough
from tests.support.cli import clean_environ
from tests.support.server import HOST, ROOT_TOKEN, ServerProcess, free_port, running

BLOCKS = walkthrough.blocks(walkthrough.README.read_text())
# Blocks whose output is the same on every run (no keys, IDs or times): compared exactly. The
# status of a dev server (in memory, so "HA Enabled false") is one, but for its random cluster
# id (a UUID made at init), which is compared masked.
EXACT = {"status"}
CLUSTER_ID = re.compile(
    r"^(Cluster ID +)[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.M
)


def test_the_readme_has_a_walkthrough() -> None:
    names = [b.name for b in BLOCKS]
    assert len(names) == len(set(names)) >= 8, names
    assert all(b.output for b in BLOCKS), "every block shows its output"
    assert set(names) >= EXACT


def _distribution(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503): "moto[server]>=5" -> "moto"."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match[0]).lower()


def test_scripts_dev_installs_what_the_walkthrough_imports() -> None:
    """The suite's virtualenv has the dev tools too; a reader's has what `scripts/dev` installs
    (`scripts/bootstrap emulator`): awsbroker's requirements and the `emulator` extra. Every
    module a block imports (boto3, hvac for "any Vault client works") must come with those."""
    root = walkthrough.README.parent
    assert "scripts/bootstrap emulator" in (root / "scripts" / "dev").read_text()
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["emulator"]]
    installed = {_distribution(r) for r in requirements}
    imported = {m for b in BLOCKS for m in re.findall(r"\bimport (\w+)", b.script)}
    imported -= set(sys.stdlib_module_names)
    assert {"boto3", "hvac"} <= imported
    providers = importlib.metadata.packages_distributions()
    for module in sorted(imported):
        assert {_distribution(d) for d in providers[module]} & installed, (
            f"a walkthrough block imports {module}, which scripts/dev does not install"
        )


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
        assert masked(result.stdout) == masked(block.output)


def masked(output: str) -> str:
    """`output` with a random (version 4) cluster id replaced by a placeholder."""
    return CLUSTER_ID.sub(r"\1<uuid4>", output)
