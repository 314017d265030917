"""A real browser for the web console's tests: Debian's Chromium driven by Playwright.

Playwright's own browser download is not used (it is not reachable here): the tests launch
`/usr/bin/chromium`. When it is missing, `require_chromium` installs it with apt-get under `CI`
(as root, or through `sudo -n`), and skips elsewhere, saying how to get it.

axe-core, the accessibility checker, comes from the npm registry at test time (`npm pack` of a
pinned version, checked against its published sha512), cached in the virtualenv; it is injected
into the page by the tests only and never ships with the console.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_VERSION = "4.10.2"
AXE_INTEGRITY = (
    "sha512-"
    "RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w=="
)


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(message)


def require_playwright() -> None:
    if importlib.util.find_spec("playwright") is None:
        _unavailable("the playwright package is missing: run `scripts/bootstrap dev`")


def require_chromium() -> Path:
    """Debian's Chromium; installed with apt-get under `CI`, else the tests skip."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI"):
        prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "chromium"],
        ):
            result = subprocess.run(
                prefix + command, capture_output=True, text=True, env=env, timeout=900, check=False
            )
            if result.returncode != 0:
                _unavailable(f"installing chromium failed: {result.stderr.strip()[-1000:]}")
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`)"
        )
    return CHROMIUM


def axe_script() -> str:
    """axe.min.js of the pinned axe-core, fetched once with `npm pack` and checked."""
    target = Path(sys.prefix) / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if target.exists():
        return target.read_text()
    if shutil.which("npm") is None:
        _unavailable("npm not found on PATH: it fetches axe-core for the accessibility check")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent.parent / ".axe-core.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _fetch_axe(target)
    return target.read_text()


def _fetch_axe(target: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            _unavailable(f"npm pack axe-core failed: {result.stderr.strip()[-1000:]}")
        tarball = Path(scratch) / f"axe-core-{AXE_VERSION}.tgz"
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != AXE_INTEGRITY:
            pytest.fail("axe-core's tarball does not match its published sha512", pytrace=False)
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            staged = target.with_suffix(f".{os.getpid()}.tmp")
            staged.write_bytes(member.read())
            staged.rename(target)
