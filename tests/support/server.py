"""A real `awsbroker server` process on loopback, for the integration tests.

`ServerProcess` owns one server: its working directory (config file, log file), its address,
the subprocess, and the HTTP clients handed out to tests. It can be stopped and started again on
the same configuration (and therefore the same storage and port). Everything it opens it closes:
the log file handle goes to the child at spawn, clients and sessions are closed by `close()`.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import requests

HOST = "127.0.0.1"
ROOT_TOKEN = "root"
STARTUP_DEADLINE = 20.0
STOP_TIMEOUT = 15.0


class ServerStartError(AssertionError):
    """The server did not come up; the message carries its captured output."""


def free_port() -> int:
    """A loopback port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def hcl_string(value: str) -> str:
    """`value` as an HCL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path


# The listener settings that serve Vault's token-less `sys/rekey/*` and `sys/generate-root/*`
# (off by default, as OpenBao's): for the tests of those paths and of clients that call them.
UNAUTHED_ON: Mapping[str, str] = {
    "disable_unauthed_rekey_endpoints": "false",
    "disable_unauthed_generate_root_endpoints": "false",
}


def config_text(
    storage_type: str,
    storage: Mapping[str, str],
    port: int,
    *,
    tls: TLSFiles | None = None,
    settings: Mapping[str, str | int] | None = None,
    listener: Mapping[str, str | list[str]] | None = None,
) -> str:
    """A Vault-style HCL server configuration; `listener` settings go in the listener block
    (an `address` there replaces the loopback one, with `{port}` replaced by `port`)."""
    lines = [f"storage {hcl_string(storage_type)} {{"]
    lines += [f"  {key} = {hcl_string(value)}" for key, value in storage.items()]
    block: dict[str, str | list[str]] = {"address": f"{HOST}:{{port}}", **(listener or {})}
    block["address"] = str(block["address"]).replace("{port}", str(port))
    lines += ["}", "", 'listener "tcp" {']
    for key, value in block.items():
        text = (
            hcl_string(value)
            if isinstance(value, str)
            else f"[{', '.join(map(hcl_string, value))}]"
        )
        lines.append(f"  {key} = {text}")
    if tls is None:
        lines.append("  tls_disable = true")
    else:
        lines.append(f"  tls_cert_file = {hcl_string(str(tls.cert))}")
        lines.append(f"  tls_key_file = {hcl_string(str(tls.key))}")
    lines += ["}", ""]
    for key, value in (settings or {}).items():
        lines.append(f"{key} = {value if isinstance(value, int) else hcl_string(value)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class InitResult:
    keys: list[str]
    keys_base64: list[str]
    root_token: str


class ServerProcess:
    """One `awsbroker server` subprocess and what it needs: args, workdir, log, clients."""

    def __init__(
        self,
        workdir: Path,
        args: list[str],
        port: int,
        *,
        ca_cert: Path | None = None,
        open_files: int | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.workdir = workdir
        self.env = dict(env or {})  # added to the server's environment
        self.args = args
        self.port = port
        self.ca_cert = ca_cert
        self.open_files = open_files  # the process's limit on open files (soft and hard)
        self.log_path = workdir / "server.log"
        self.token_file = workdir / "root-token"
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: list[hvac.Client] = []
        self._session = requests.Session()
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override `Session.verify`.
        self._verify: str | bool = str(ca_cert) if ca_cert else True
        self._configure(self._session)

    # ---- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.ca_cert else "http"
        return f"{scheme}://{HOST}:{self.port}"

    def v1(self, path: str) -> str:
        return f"{self.url}/v1/{path.lstrip('/')}"

    # ---- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Spawn the server and wait until `sys/health` answers (any status)."""
        assert not self.running, "server already running"
        command = [sys.executable, "-m", "awsbroker.entry", "server", *self.args]
        # Dev mode saves its root token to the CLI's token file: keep it out of the real home.
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "AWSBROKER_TOKEN_FILE": str(self.token_file),
            **self.env,
        }
        with self.log_path.open("ab") as log:
            log.write(f"---- start: {' '.join(command)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                preexec_fn=self._limit_open_files if self.open_files else None,  # noqa: PLW1509
            )
        self._wait_until_up()

    def _limit_open_files(self) -> None:
        assert self.open_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def _wait_until_up(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise ServerStartError(f"server exited with {code} at start-up:\n{self.log()}")
            try:
                self._session.get(self.v1("sys/health"), timeout=2, verify=self._verify)
                return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # polling for start-up only
        self.stop()
        raise ServerStartError(f"server not answering after {STARTUP_DEADLINE}s:\n{self.log()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit status (negative = signal)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        self._drop_connections()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        return proc.wait()

    def kill(self) -> int:
        """SIGKILL: a crash, with no chance to clean up. Returns the exit status."""
        proc, self.proc = self.proc, None
        assert proc is not None, "server not running"
        proc.kill()
        self._drop_connections()
        return proc.wait()

    def _drop_connections(self) -> None:
        """Close pooled keep-alive connections (sessions stay usable). An idle TLS connection
        would otherwise hold the server's graceful shutdown for its whole timeout."""
        for client in self._clients:
            client.adapter.session.close()
        self._session.close()

    def restart(self) -> int:
        """Stop (returning the exit status) and start again on the same configuration."""
        code = self.stop()
        self.start()
        return code

    def close(self) -> None:
        """Stop the process and close every client and session handed out."""
        try:
            self.stop()
        finally:
            for client in self._clients:
                client.adapter.close()
            self._clients.clear()
            self._session.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- clients -------------------------------------------------------------------------

    def _configure(self, session: requests.Session) -> None:
        session.verify = self._verify
        if self.ca_cert is not None:
            # A TLS connection the client drops without close_notify (as requests does) can hold
            # up a server's graceful shutdown (uvicorn, our earlier HTTP server, waited 10 s for
            # one). Not reusing TLS connections keeps stopping a TLS server fast, whatever serves.
            session.headers["Connection"] = "close"

    def client(self, token: str | None = None, **kwargs: Any) -> hvac.Client:
        """An hvac client for this server (closed by `close()`). No token unless given."""
        session = requests.Session()
        self._configure(session)
        client = hvac.Client(
            url=self.url, token=token or "", verify=self._verify, session=session, **kwargs
        )
        self._clients.append(client)
        return client

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        """A raw request to `/v1/<path>` (or to `path` itself if it starts with '/')."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["X-Vault-Token"] = token
        url = f"{self.url}{path}" if path.startswith("/") else self.v1(path)
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self._verify)
        return self._session.request(method, url, headers=headers, **kwargs)

    # ---- seal helpers --------------------------------------------------------------------

    def initialize(self, shares: int = 1, threshold: int = 1) -> InitResult:
        result = self.client().sys.initialize(shares, threshold)
        return InitResult(result["keys"], result["keys_base64"], result["root_token"])

    def unseal(self, keys: list[str]) -> None:
        status = self.client().sys.submit_unseal_keys(keys)
        assert status["sealed"] is False, status

    def init_and_unseal(self, shares: int = 1, threshold: int = 1) -> InitResult:
        result = self.initialize(shares, threshold)
        self.unseal(result.keys[:threshold])
        return result


def dev_server(
    workdir: Path, root_token: str | None = ROOT_TOKEN, extra_args: Sequence[str] = ()
) -> ServerProcess:
    """A dev-mode server; `root_token=None` lets it generate one."""
    port = free_port()
    args = ["--dev", "--dev-listen-address", f"{HOST}:{port}"]
    if root_token is not None:
        args += ["--dev-root-token-id", root_token]
    args += extra_args
    return ServerProcess(workdir, args, port)


def config_server(
    workdir: Path,
    storage_type: str,
    storage: Mapping[str, str],
    *,
    tls: TLSFiles | None = None,
    settings: Mapping[str, str | int] | None = None,
    listener: Mapping[str, str | list[str]] | None = None,
    open_files: int | None = None,
) -> ServerProcess:
    """A server started from an HCL file written into `workdir`."""
    port = free_port()
    config = workdir / "config.hcl"
    text = config_text(storage_type, storage, port, tls=tls, settings=settings, listener=listener)
    config.write_text(text)
    ca_cert = tls.cert if tls is not None else None
    return ServerProcess(
        workdir, ["--config", str(config)], port, ca_cert=ca_cert, open_files=open_files
    )


class ServerFactory:
    """Config-file servers for one test; every server it made is closed at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._made: list[ServerProcess] = []

    def _workdir(self, name: str) -> Path:
        workdir = self._tmp_path / f"{name}-{len(self._made)}"
        workdir.mkdir()
        return workdir

    def _start(self, server: ServerProcess, start: bool) -> ServerProcess:
        self._made.append(server)
        if start:
            server.start()
        return server

    def dev(
        self, root_token: str | None = ROOT_TOKEN, extra_args: Sequence[str] = ()
    ) -> ServerProcess:
        """A dev-mode server; `root_token=None` lets it generate one; `extra_args` are added to
        its command line."""
        return self._start(dev_server(self._workdir("dev"), root_token, extra_args), True)

    def sqlite(
        self,
        *,
        tls: TLSFiles | None = None,
        settings: Mapping[str, str | int] | None = None,
        listener: Mapping[str, str | list[str]] | None = None,
        open_files: int | None = None,
        start: bool = True,
    ) -> ServerProcess:
        """A server on a SQLite file `storage.db` inside its own working directory; `listener`
        settings go in its listener block, `open_files` limits its open files."""
        workdir = self._workdir("sqlite")
        storage = {"path": str(workdir / "storage.db")}
        server = config_server(
            workdir,
            "sqlite",
            storage,
            tls=tls,
            settings=settings,
            listener=listener,
            open_files=open_files,
        )
        return self._start(server, start)

    def sqlite_file(
        self,
        path: str,
        *,
        settings: Mapping[str, str | int] | None = None,
        listener: Mapping[str, str | list[str]] | None = None,
    ) -> ServerProcess:
        """A server on the SQLite file at `path`, which other servers may share."""
        workdir = self._workdir("sqlite")
        server = config_server(
            workdir, "sqlite", {"path": path}, settings=settings, listener=listener
        )
        return self._start(server, True)

    def postgresql(
        self,
        dsn: str,
        table: str,
        *,
        settings: Mapping[str, str | int] | None = None,
        listener: Mapping[str, str | list[str]] | None = None,
    ) -> ServerProcess:
        workdir = self._workdir("postgresql")
        storage = {"connection_url": dsn, "table": table}
        server = config_server(workdir, "postgresql", storage, settings=settings, listener=listener)
        return self._start(server, True)

    def close(self) -> None:
        for server in self._made:
            server.close()


@contextlib.contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    """Start `server` and close it (process, clients) on the way out."""
    try:
        server.start()
        yield server
    finally:
        server.close()
