"""A real OpenID provider on loopback: the npm package `oidc-provider` (an OpenID-certified
implementation), run with node, issuing RS256 JWT access tokens through the client_credentials
grant with resource indicators, so tests get real signed tokens without a browser.

The package is installed on first use, with `npm ci` from the pinned lockfile in
`tests/support/node_oidc/`, into a directory of the virtualenv named by the lockfile's hash;
later runs need no network. Without node or npm, or when the install fails, the tests skip,
and under `CI` they fail instead (as `bao.py` does)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.lifecycle import Service
from tests.support.server import free_port

SOURCE = Path(__file__).parent / "node_oidc"
_FILES = ("package.json", "package-lock.json")
SCRIPT = SOURCE / "provider.mjs"
STARTUP_DEADLINE = 20.0


def install_dir() -> Path:
    """Where the pinned packages live: in the virtualenv, named by the lockfile's hash."""
    digest = hashlib.sha256(b"".join((SOURCE / f).read_bytes() for f in _FILES)).hexdigest()
    return Path(sys.prefix) / f"node-oidc-provider-{digest[:12]}"


def require() -> Path:
    """The directory holding the pinned `node_modules`; installed if needed. Skips (fails
    under `CI`) when node or npm is missing or the install fails."""
    target = install_dir()
    if (target / "node_modules" / "oidc-provider").is_dir():
        return target
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{' and '.join(missing)} not found on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".node-oidc-provider.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "node_modules" / "oidc-provider").is_dir():
            _install(target)
    return target


def _install(target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        for name in _FILES:
            shutil.copy(SOURCE / name, staging / name)
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            _unavailable(f"npm ci failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"the loopback OpenID provider (npm oidc-provider) is unavailable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so these tests must run", pytrace=False)
    pytest.skip(message)


class OidcProvider(Service):
    """`oidc-provider` on a free loopback port, with `clients` allowed client_credentials
    (each one's secret is `<id>-secret`). A token's `sub` is its client's ID, which may be
    any string (`repo:acme/app:ref:refs/heads/main`, as GitHub's are)."""

    def __init__(
        self, clients: tuple[str, ...] = ("ci",), web: dict[str, Any] | None = None
    ) -> None:
        """`web`, when given, is a web client for the authorization code flow (`client_id`,
        `client_secret`, `redirect_uris`), every login of which is `account` at once, with
        `claims` in its ID token (see provider.mjs)."""
        self.clients = clients
        self.web = web
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        document: dict[str, Any] = httpx.get(self.discovery_url, timeout=5).json()
        return document

    def start(self) -> None:
        directory = require()
        # Beside its node_modules (node resolves imports from the script's directory), named
        # by its content, so an edited script needs no new install.
        source = SCRIPT.read_bytes()
        script = directory / f"provider-{hashlib.sha256(source).hexdigest()[:12]}.mjs"
        if not script.exists():
            staged = script.with_suffix(f".{os.getpid()}.tmp")
            staged.write_bytes(source)
            staged.rename(script)
        self.port = free_port()
        log_fd, log_name = tempfile.mkstemp(prefix="oidc-provider-", suffix=".log")
        self._log = Path(log_name)
        with os.fdopen(log_fd, "wb") as log:
            self._process = subprocess.Popen(
                [
                    "node",
                    script.name,
                    str(self.port),
                    json.dumps(list(self.clients)),
                    *([json.dumps(self.web)] if self.web else []),
                ],
                cwd=directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.discovery_url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        output = self._log.read_text(errors="replace")
        self.stop()
        raise AssertionError(f"oidc-provider did not start on {self.issuer}:\n{output}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def token(
        self,
        audience: str,
        client: str | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """A fresh JWT access token for `audience` (the resource indicator), issued to
        `client` (the first one by default), carrying `claims` besides the provider's own
        (`iss`, `sub`, `aud`, `iat`, `exp`, `jti`, `client_id`, `scope`)."""
        client = client or self.clients[0]
        form = {
            "grant_type": "client_credentials",
            "client_id": client,
            "client_secret": f"{client}-secret",
            "resource": audience,
            "scope": "broker",
        }
        if claims:
            form["test_claims"] = json.dumps(claims)
        response = httpx.post(self.issuer + "/token", data=form, timeout=10)
        if response.status_code != 200:
            raise AssertionError(f"the provider refused a token: {response.text}")
        token: str = response.json()["access_token"]
        return token
