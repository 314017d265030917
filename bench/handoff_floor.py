"""What serving one request costs before any work: the HTTP server and hand-off awsbroker uses,
against the same granian running a synchronous (WSGI) handler on its own threads.

    .venv/bin/python -m bench.handoff_floor                     # 5000 requests per variant
    .venv/bin/python -m bench.handoff_floor --count 2000

Each variant is a server process on loopback answering `GET /v1/aws/creds/r` with the same
JSON body; one client sends `--count` requests back to back over one keep-alive connection and
reads the CPU of the server's whole process tree (every thread of the process and of its
children, `/proc/<pid>/task/*/schedstat`) before and after. The variants:

- `wsgi`: granian's WSGI interface (its process-managing server, one worker process), a
  minimal callable. The baseline: granian calls it on its own thread, no event loop.
- `asgi`: the embedded granian awsbroker runs (ASGI, this process's event loop), a minimal app.
- `asgi+worker`: the same, each request handed to awsbroker's `WorkerThreads` and back, as
  awsbroker hands a request to the core.
- `awsbroker-app`: awsbroker's own ASGI app (`http/app.py`, request metrics on) with a handler
  that returns a credential's answer at once: everything awsbroker does per request except the
  core's work.

No AWS, no core, no storage: the floor under every request, and what it would be without the
event loop (docs/performance.md reads it). Figures move with the machine's load; read the
ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/handoff_floor.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from granian.constants import HTTPModes, Interfaces
from granian.server.embed import Server
from granian.server.mp import MPServer

from awsbroker.core.metrics import Metrics
from awsbroker.http.app import build_app
from awsbroker.http.workers import WorkerThreads
from awsbroker.sdk.clock import SystemClock
from awsbroker.sdk.logical import Response
from bench._common import child_pids, free_port, thread_cpu_seconds

VARIANTS = ("wsgi", "asgi", "asgi+worker", "awsbroker-app")
WARMUP = 500
BODY = (
    b'{"request_id":"0b8f9c1e-3a51-4a55-9c7e-4d7a1f0e2b6c","lease_id":"aws/creds/r/'
    b'Xk2pQ9rT4vW7yZ1aB3cD5eF8","renewable":false,"lease_duration":3600,"data":{"access_key":'
    b'"ASIAIOSFODNN7EXAMPLE","secret_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",'
    b'"session_token":"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW"},'
    b'"wrap_info":null,"warnings":null,"auth":null}'
)
HEADERS = [("content-type", "application/json"), ("cache-control", "no-store")]
CREDENTIAL = {
    "access_key": "ASIAIOSFODNN7EXAMPLE",
    "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "session_token": "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW",
}


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [*HEADERS, ("content-length", str(len(BODY)))])
    return [BODY]


def _serve_wsgi(port: int) -> None:
    MPServer(
        "bench.handoff_floor:wsgi_app", address="127.0.0.1", port=port,
        interface=Interfaces.WSGI, http=HTTPModes.http1, websockets=False, log_enabled=False,
        workers=1, blocking_threads=1,
    ).serve()  # fmt: skip


def _serve_asgi(port: int, variant: str) -> None:
    raw = [(k.encode(), v.encode()) for k, v in HEADERS]
    raw.append((b"content-length", str(len(BODY)).encode()))
    workers: WorkerThreads[int, int] = WorkerThreads(64, "bench-worker")

    async def minimal(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if variant == "asgi+worker":
            await workers.run(lambda x: x, 1)
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": BODY})

    app: Any = minimal
    if variant == "awsbroker-app":

        def handle(request: Any) -> Response:
            response = Response(data=dict(CREDENTIAL))
            response.lease_id, response.lease_duration = "aws/creds/r/Xk2pQ9rT4vW7yZ1aB3cD", 3600
            return response

        app = build_app(handle, observe=Metrics(SystemClock()).observe_request)

    async def main() -> None:
        await Server(
            app, address="127.0.0.1", port=port, interface=Interfaces.ASGINL,
            http=HTTPModes.http1, websockets=False, log_enabled=False,
        ).serve()  # fmt: skip

    asyncio.run(main())


def tree_cpu_seconds(pid: int) -> float:
    """CPU of every live thread of `pid` and of its children, to the nanosecond."""
    return thread_cpu_seconds(pid) + sum(thread_cpu_seconds(kid) for kid in child_pids(pid))


def measure(variant: str, count: int) -> float:
    """Server CPU microseconds per request for `variant`."""
    port = free_port()
    command = [sys.executable, "-m", "bench.handoff_floor", "--serve", variant, str(port)]
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL)
    try:
        conn = _connect(port, proc)
        for _ in range(WARMUP):
            _get(conn)
        before = tree_cpu_seconds(proc.pid)
        for _ in range(count):
            _get(conn)
        spent = tree_cpu_seconds(proc.pid) - before
        conn.close()
    finally:
        proc.terminate()
        proc.wait(30)
    return spent * 1e6 / count


def _connect(port: int, proc: subprocess.Popen[bytes]) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            _get(conn)
            return conn
        except OSError:
            conn.close()
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _get(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", "/v1/aws/creds/r", headers={"X-Vault-Token": "bench"})
    answer = conn.getresponse()
    body = answer.read()
    assert answer.status == 200, (answer.status, body[:200])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.handoff_floor", description=__doc__)
    p.add_argument("--count", type=int, default=5000, help="requests per variant")
    p.add_argument("--serve", nargs=2, metavar=("VARIANT", "PORT"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.serve:
        variant, port = a.serve[0], int(a.serve[1])
        _serve_wsgi(port) if variant == "wsgi" else _serve_asgi(port, variant)
        return 0
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().split()[0]}; {a.count} requests per variant")
    figures = {variant: measure(variant, a.count) for variant in VARIANTS}
    print(f"{'variant':16} {'server CPU us/request':>22} {'x wsgi':>8}")
    for variant, us in figures.items():
        print(f"{variant:16} {us:22.1f} {us / figures['wsgi']:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
