"""A private, throwaway PostgreSQL cluster for one test, which may stop and start it at will.

`initdb` (trust authentication, superuser `postgres`) into a temporary directory, served by
`pg_ctl` on a free loopback port with its socket inside that directory. It never touches the
machine's cluster (127.0.0.1:5432). `initdb` refuses to run as root: as root, the directory is
handed to the `postgres` OS user and every command runs as that user (`runuser`).

    with PgCluster() as cluster:
        dsn = cluster.dsn
        cluster.stop("immediate")   # a crash: no checkpoint, recovery at the next start
        cluster.start()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal, Self

import psycopg
from tests.support.lifecycle import Service
from tests.support.server import HOST, free_port

StopMode = Literal["smart", "fast", "immediate"]
OS_USER = "postgres"  # who runs the cluster when we are root
START_TIMEOUT = 30  # seconds, for pg_ctl's -t
STOP_TIMEOUT = 30


class PgClusterError(AssertionError):
    """A PostgreSQL tool failed; the message carries its output and the server log's tail."""


def bindir() -> Path | None:
    """Where `initdb` and `pg_ctl` are: on the PATH, else Debian's newest
    `/usr/lib/postgresql/<version>/bin`; None if nowhere."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = [
        Path(path).parent
        for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if Path(path).parent.parent.name.isdigit()
    ]
    return max(versions, key=lambda bin_: int(bin_.parent.name), default=None)


def missing_reason() -> str | None:
    """Why no private cluster can be made here, or None if one can."""
    if bindir() is None:
        return "initdb and pg_ctl not found (on the PATH or in /usr/lib/postgresql/*/bin)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} OS user to run initdb as"
    return None


def _as_cluster_user(command: list[str]) -> list[str]:
    tools = bindir()
    if tools is not None:
        command = [str(tools / command[0]), *command[1:]]
    if os.geteuid() == 0:
        return ["runuser", "-u", OS_USER, "--", *command]
    return command


class PgCluster(Service):
    """One cluster in its own temporary directory. `close()` (or leaving the `with` block)
    stops it, whatever state it is in, and removes the directory."""

    def __init__(self, *, port: int | None = None, settings: dict[str, str] | None = None):
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="awsbroker-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_path = self.root / "postgres.log"
        self._settings = {
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "50",
            "shared_buffers": "16MB",
            **(settings or {}),
        }
        self._initialised = False

    # ---- what clients need --------------------------------------------------------------

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def __repr__(self) -> str:
        return f"PgCluster({HOST}:{self.port}, {self.root})"

    # ---- lifecycle ----------------------------------------------------------------------

    def init(self) -> None:
        """Create the cluster (once)."""
        if self._initialised:
            return
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            [
                "initdb",
                "--pgdata",
                str(self.data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-instructions",
            ]
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/pg_cluster.py\n")
            conf.writelines(f"{key} = {value}\n" for key, value in self._settings.items())
        self._initialised = True

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.init()
        log, wait = ["-l", str(self.log_path)], ["-w", "-t", str(START_TIMEOUT)]
        self._run(["pg_ctl", "start", "-D", str(self.data), *log, *wait])
        self._wait_accepting(START_TIMEOUT)

    def stop(self, mode: StopMode = "fast") -> None:
        """Stop the server: `fast` rolls back open transactions and checkpoints, `immediate`
        kills every process at once (a crash; the next start replays the WAL)."""
        wait = ["-w", "-t", str(STOP_TIMEOUT)]
        self._run(["pg_ctl", "stop", "-D", str(self.data), "-m", mode, *wait])

    def restart(self, mode: StopMode = "fast") -> None:
        self.stop(mode)
        self.start()

    @property
    def running(self) -> bool:
        if not self._initialised:
            return False
        status = subprocess.run(
            _as_cluster_user(["pg_ctl", "status", "-D", str(self.data)]),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def accepting(self) -> bool:
        """Whether a client connection succeeds now."""
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def close(self) -> None:
        """Stop the server if it runs (immediate: nothing in it is worth keeping) and remove
        the directory. Idempotent."""
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self._initialised = False

    def __enter__(self) -> Self:
        try:
            return super().__enter__()
        except BaseException:  # initdb or the first start failed: leave no directory behind
            self.close()
            raise

    # ---- helpers ------------------------------------------------------------------------

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_accepting(self, timeout: float) -> None:
        # `pg_ctl start -w` already waited for the postmaster; this covers the short gap after
        # crash recovery during which connections are still refused.
        deadline = time.monotonic() + timeout
        while not self.accepting():
            if time.monotonic() >= deadline:
                raise PgClusterError(f"{self!r} not accepting after {timeout}s:\n{self._tail()}")
            time.sleep(0.1)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            _as_cluster_user(command),
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            timeout=STOP_TIMEOUT + START_TIMEOUT,
        )
        if result.returncode != 0:
            raise PgClusterError(
                f"{' '.join(command)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{self._tail()}"
            )

    def _tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])
