"""hvac's own test suite, from hvac's source distribution on PyPI, for the version of hvac
installed here. The sdist ships `tests/` (integration tests, `tests/utils`, TLS files in
`tests/config_files`); none of it is in our repository.

It is fetched on first use with `pip download` and only its `tests/` folder is kept, in a
directory of the virtualenv named by the version (`hvac-tests-<version>/tests`); later runs
need no network. When the download fails the tests skip, and under `CI` they fail instead (as
`bao.py` does)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

import pytest


def version() -> str:
    """The installed hvac's version: its tests are the ones to run."""
    return metadata.version("hvac")


def install_dir() -> Path:
    """The folder holding hvac's `tests/` package (put it on `sys.path` to import it)."""
    return Path(sys.prefix) / f"hvac-tests-{version()}"


def require() -> Path:
    """`install_dir()`, filled from the sdist if needed. Skips (fails under `CI`) when the
    sdist cannot be downloaded."""
    target = install_dir()
    if (target / "tests" / "utils" / "__init__.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".hvac-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "tests" / "utils" / "__init__.py").is_file():
            _install(target)
    return target


def _install(target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        download = staging / "download"
        result = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"),
                *("--no-binary", ":all:", "--dest", str(download), f"hvac=={version()}"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        archives = sorted(download.glob("hvac-*.tar.gz")) if download.is_dir() else []
        if result.returncode != 0 or not archives:
            _unavailable(f"pip download failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        tree = staging / "tree"
        _extract_tests(archives[0], tree)
        shutil.rmtree(target, ignore_errors=True)
        tree.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract_tests(archive: Path, tree: Path) -> None:
    """Only `<sdist root>/tests/...` goes into `tree/tests/...`: hvac itself stays the one
    installed in the virtualenv."""
    prefix = f"hvac-{version()}/tests/"
    with tarfile.open(archive) as sdist:
        members = []
        for member in sdist.getmembers():
            if member.name.startswith(prefix):
                member.name = member.name.removeprefix(f"hvac-{version()}/")
                members.append(member)
        if not members:
            _unavailable(f"{archive.name} holds no {prefix}")
        sdist.extractall(tree, members=members, filter="data")


def _unavailable(reason: str) -> None:
    message = f"hvac's own test suite (the hvac {version()} sdist) is unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(message)
