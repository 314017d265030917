"""A pytest plugin for the subprocess that runs hvac's own integration tests (from hvac's
sdist, see tests/support/hvac_sdist.py) against a real `awsbroker server`.

Loaded with `-p awsbroker_hvac`, with the folder holding hvac's `tests` package first on
`sys.path`. It imports nothing of our `tests` package (that name is hvac's in that process),
and changes two things of hvac's harness, nothing in its test files:

- `tests.utils.server_manager.ServerManager`, which runs `vault server`, is replaced by one that
  runs `awsbroker server` from an HCL file like hvac's `vault-tls.hcl` (in-memory storage, TLS
  with hvac's own `tests/config_files` certificate, 768h lease TTLs), then initializes and
  unseals it through hvac as hvac's manager does. Clients come from hvac's `create_client`.
- The Vault version hvac's `skipIf(vault_version_lt(...))` checks read (from `vault -version`
  there) is `VAULT_VERSION`, the Vault whose API awsbroker follows.

The server's log and configuration go under `$AWSBROKER_HVAC_WORKDIR` (one folder a server).
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
import requests

VAULT_VERSION = "1.21.0"
HOST = "127.0.0.1"
STARTUP_DEADLINE = 20.0
STOP_TIMEOUT = 15.0


def pytest_configure(config: pytest.Config) -> None:
    utils = importlib.import_module("tests.utils")
    utils.get_vault_version_string.cache = VAULT_VERSION
    module = types.ModuleType("tests.utils.server_manager")
    module.ServerManager = ServerManager  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    utils.server_manager = module


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _utils() -> Any:
    return importlib.import_module("tests.utils")


class ServerManager:
    """hvac's `ServerManager` interface (`start`, `initialize`, `unseal`, `stop`,
    `restart_vault_cluster`, `get_active_vault_addresses`, `client`, `keys`, `root_token`)
    over one `awsbroker server` process. HA configurations are not served: one node."""

    def __init__(
        self,
        config_paths: list[str],
        client: Any = None,
        use_consul: bool = False,
        patch_config: bool = True,
    ) -> None:
        self.config_paths = config_paths
        self.client = client
        self.keys: list[str] | None = None
        self.root_token: str | None = None
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    def _workdir(self) -> Path:
        root = Path(os.environ.get("AWSBROKER_HVAC_WORKDIR") or ".")
        for index in range(1000):
            workdir = root / f"server-{index}"
            try:
                workdir.mkdir(parents=True)
            except FileExistsError:
                continue
            return workdir
        raise RuntimeError(f"no free server folder under {root}")

    def start(self) -> None:
        utils = _utils()
        workdir = self._workdir()
        port = _free_port()
        config = workdir / "config.hcl"
        cert, key = (utils.get_config_file_path(f"server-{name}.pem") for name in ("cert", "key"))
        config.write_text(
            'storage "inmem" {}\n\n'
            'listener "tcp" {\n'
            f'  address = "{HOST}:{port}"\n'
            f'  tls_cert_file = "{cert}"\n'
            f'  tls_key_file = "{key}"\n'
            # hvac's test_key.py calls Vault's token-less rekey and generate-root paths.
            "  disable_unauthed_rekey_endpoints = false\n"
            "  disable_unauthed_generate_root_endpoints = false\n"
            "}\n\n"
            "disable_mlock = true\n"
            'default_lease_ttl = "768h"\n'
            'max_lease_ttl = "768h"\n'
        )
        self.url = f"https://{HOST}:{port}"
        self._log = workdir / "server.log"
        env = {
            **os.environ,
            "HOME": str(workdir),
            "AWSBROKER_TOKEN_FILE": str(workdir / "token"),
            "PYTHONUNBUFFERED": "1",
        }
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "awsbroker.entry", "server", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
            )
        if self.client is None:
            self.client = utils.create_client(url=self.url)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"awsbroker server exited at start-up:\n{self.log()}")
            try:
                self.client.sys.is_initialized()
                return
            except requests.ConnectionError:  # until it listens
                time.sleep(0.05)
        message = f"awsbroker server not answering after {STARTUP_DEADLINE}s"
        raise RuntimeError(f"{message}:\n{self.log()}")

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log and self._log.exists() else ""

    def initialize(self) -> None:
        if self.client.sys.is_initialized():
            raise RuntimeError(f"awsbroker is already initialized: {self.url}")
        result = self.client.sys.initialize(secret_shares=5, secret_threshold=3)
        self.root_token = self.client.token = result["root_token"]
        self.keys = result["keys"]

    def unseal(self) -> None:
        client = _utils().create_client(url=self.url)
        status = client.sys.submit_unseal_keys(self.keys)
        client.adapter.close()
        if status["sealed"]:
            raise RuntimeError(f"still sealed after the unseal keys: {status}")

    def get_active_vault_addresses(self) -> list[str]:
        return [self.url]

    def restart_vault_cluster(self, perform_init: bool = True) -> None:
        self.stop()
        self.start()
        if perform_init:
            self.initialize()

    def stop(self) -> None:
        if self.client is not None:
            self.client.adapter.close()
        self.client = None
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
