"""Shared pieces of the benchmarks: a real `awsbroker server` process, HTTP, /proc figures."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STARTUP_DEADLINE = 120.0
STOP_TIMEOUT = 20.0
POLL = 0.01  # seconds between health polls: the resolution of the start-up figures

# Every server this process started and has not stopped yet: stopped on the way out, even
# after an error or Ctrl-C (see `stop_all`).
_RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def hcl_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def server_config(storage_type: str, storage: Mapping[str, str], port: int) -> str:
    lines = [f"storage {hcl_string(storage_type)} {{"]
    lines += [f"  {key} = {hcl_string(value)}" for key, value in storage.items()]
    lines += [
        "}",
        'listener "tcp" {',
        f"  address = {hcl_string(f'{HOST}:{port}')}",
        "  tls_disable = true",
        "}",
        'log_level = "warn"',
    ]
    return "\n".join(lines) + "\n"


def server_command() -> list[str]:
    """`.venv/bin/awsbroker server` next to this interpreter, else `python -m awsbroker.entry`."""
    script = Path(sys.executable).parent / "awsbroker"
    if script.exists():
        return [str(script), "server"]
    return [sys.executable, "-m", "awsbroker.entry", "server"]


@dataclass
class Answer:
    status: int
    body: Any


def call(
    port: int,
    method: str,
    path: str,
    body: Mapping[str, object] | None = None,
    *,
    token: str = "",
    timeout: float = 30.0,
) -> Answer:
    """One request to `/v1/<path>` on a fresh connection (no keep-alive left behind)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if token:
            headers["X-Vault-Token"] = token
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, "/v1/" + path, payload, headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(response.status, parsed)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(rest.split()[0])
    return out


def thread_cpu_ns(pid: int) -> dict[int, tuple[str, int]]:
    """Each live thread of a process: its OS name (`comm`) and CPU nanoseconds so far
    (`/proc/<pid>/task/*/schedstat`). Empty where schedstat is missing."""
    out: dict[int, tuple[str, int]] = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                name = f.read().strip()
        except FileNotFoundError:
            continue  # the thread exited meanwhile
        out[int(task)] = (name, ns)
    return out


def thread_cpu_seconds(pid: int) -> float:
    """CPU time of a process's live threads, to the nanosecond (`/proc/<pid>/task/*/schedstat`).

    Finer than `cpu_seconds` (clock ticks: 10 ms), for short spans; a thread that exits takes
    its time with it. Falls back to `cpu_seconds` where schedstat is missing.
    """
    total = sum(ns for _, ns in thread_cpu_ns(pid).values())
    return total / 1e9 if total else cpu_seconds(pid)


# The groups of an awsbroker server's threads, by OS name (the server names its own:
# awsbroker/sdk/thread_name.py). The main thread runs the asyncio event loop (granian's
# embedded server calls the app there); granian's runtime threads are native and unnamed,
# so they keep the process's name, as would a Python thread the server does not name.
THREAD_GROUPS = ("granian", "event loop", "request workers", "others")


def thread_group(pid: int, tid: int, name: str, process_name: str) -> str:
    """Which of `THREAD_GROUPS` a server thread is in."""
    if tid == pid:
        return "event loop"
    if name.startswith("awsbroker-reque"):  # "awsbroker-request-N", cut to 15 bytes
        return "request workers"
    if name == process_name:
        return "granian"
    return "others"


def server_thread_cpu(pid: int) -> dict[int, tuple[str, int]]:
    """A server's live threads: their group (`thread_group`) and CPU nanoseconds so far."""
    threads = thread_cpu_ns(pid)
    process_name = threads[pid][0] if pid in threads else ""
    return {
        tid: (thread_group(pid, tid, name, process_name), ns) for tid, (name, ns) in threads.items()
    }


def group_cpu_seconds(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> dict[str, float]:
    """CPU seconds per thread group between two `server_thread_cpu` readings (a thread started
    in between counts from zero; one that exited takes its time with it)."""
    out = dict.fromkeys(THREAD_GROUPS, 0.0)
    for tid, (group, ns) in after.items():
        out[group] += (ns - before.get(tid, (group, 0))[1]) / 1e9
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The live child processes of `pid` (of any of its threads)."""
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(child) for child in f.read().split()]
        except FileNotFoundError:
            continue  # the thread exited meanwhile
    return kids


def tree_cpu_seconds(pid: int) -> float:
    """A process's CPU and its live children's: a server's, with the AWS call processes of a
    revision from before they were removed (bench.cluster's `--before` may run one). A child
    that exited takes its time with it."""
    children = 0.0
    for kid in child_pids(pid):
        with contextlib.suppress(FileNotFoundError):
            children += cpu_seconds(kid)
    return cpu_seconds(pid) + children


class ServerProcess:
    """One `awsbroker server --config FILE` process, started from a clean slate."""

    def __init__(
        self,
        workdir: Path,
        storage_type: str,
        storage: Mapping[str, str],
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env`: variables set in the server's environment, on top of this process's."""
        self.workdir = workdir
        self.env = dict(env or {})
        self.port = free_port()
        self.config_path = workdir / f"server-{self.port}.hcl"
        self.config_path.write_text(server_config(storage_type, storage, self.port))
        self.log_path = workdir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                [*server_command(), "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        _RUNNING[self.proc.pid] = self.proc

    def health(self) -> int | None:
        """The status of `sys/health`, or None while nothing listens."""
        try:
            return call(self.port, "GET", "sys/health", timeout=5).status
        except OSError:
            return None

    def wait_for_health(self, wanted: tuple[int, ...]) -> float:
        """Poll `sys/health` until it answers one of `wanted`; returns perf_counter then."""
        deadline = time.perf_counter() + STARTUP_DEADLINE
        while time.perf_counter() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            if self.health() in wanted:
                return time.perf_counter()
            time.sleep(POLL)
        raise RuntimeError(f"server did not answer {wanted} in {STARTUP_DEADLINE}s:\n{self.log()}")

    def unseal(self, key_hex: str) -> None:
        answer = call(self.port, "PUT", "sys/unseal", {"key": key_hex}, timeout=STARTUP_DEADLINE)
        if answer.status != 200 or answer.body.get("sealed") is not False:
            raise RuntimeError(f"unseal failed: {answer.status} {answer.body}")

    def stop(self) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        _RUNNING.pop(proc.pid, None)
        return _terminate(proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def _terminate(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def stop_all() -> None:
    """Stop every server process this process started and has not stopped."""
    for pid, proc in list(_RUNNING.items()):
        _RUNNING.pop(pid, None)
        _terminate(proc)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, right-aligned but for the first column."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "n/a"


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def start_process(
    args: list[str], *, log_path: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A helper process (an AWS emulator, a dev server) with its output in `log_path`,
    stopped by `stop_all` if nothing stops it before."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    _RUNNING[proc.pid] = proc
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> int:
    """Stop a process `start_process` started (SIGTERM, then SIGKILL after a while)."""
    _RUNNING.pop(proc.pid, None)
    return _terminate(proc)


def machine() -> dict[str, object]:
    """Cores, memory, Python, platform and the git revision (`+dirty src` when `src/` had
    uncommitted changes), for a benchmark's JSON."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, check=True
        ).stdout.decode()

    try:
        rev = git("rev-parse", "--short", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "src").strip())
    except (OSError, subprocess.CalledProcessError):
        rev, dirty = "unknown", False
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu_model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.partition(":")[2].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": rev + ("+dirty src" if dirty else ""),
    }
