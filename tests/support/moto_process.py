"""moto in a process of its own (`python -m moto.server`), with IAM authentication on.

The in-process `MotoServer` shares moto's module globals (its backends, its auth switch) with
everything else in the test process; this one does not, so a test that wants moto's checks on
from the first call, whatever else runs, starts it here. It starts with the environment
variable `INITIAL_NO_AUTH_ACTION_COUNT=0`, moto's documented switch ("IAM-like Access
Control"): every call's SigV4 signature is recomputed with the caller's secret key and its IAM
policies are evaluated. `setup()` turns the checks off for the calls a test makes to build its
world (moto-api `reset-auth`, which needs no credentials), and on again when it is done.

Its own log (werkzeug's request lines, moto's tracebacks) goes to `log_path`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.lifecycle import Service
from tests.support.server import free_port

STARTUP_DEADLINE = 30.0


class MotoProcess(Service):
    """`python -m moto.server -H 127.0.0.1 -p <free port>`, auth on, log in `log_path`."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        if self._proc is None:
            raise RuntimeError("MotoProcess is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("MotoProcess is already started")
        self.port = free_port()
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"moto exited at start-up:\n{self.log_path.read_text()}")
            try:
                self._post("/moto-api/reset", b"")
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto not answering") from None
                time.sleep(0.05)  # polling for start-up only

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @contextlib.contextmanager
    def setup(self) -> Iterator[None]:
        """Wipe moto, run the body with auth off (any key works), then turn auth on."""
        self._post("/moto-api/reset", b"")
        self._post("/moto-api/reset-auth", b"inf")
        try:
            yield
        finally:
            self._post("/moto-api/reset-auth", b"0")

    def _post(self, path: str, body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            # A bare number, not a form: moto reads the raw body (see moto_server.py).
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"moto {path} answered {response.status}: {answer!r}")
