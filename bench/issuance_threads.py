"""One client at a time: the server's CPU per credential, thread by thread, against direct boto3.

    .venv/bin/python -m bench.issuance_threads                      # assumed_role, 1000 each
    .venv/bin/python -m bench.issuance_threads --count 200 --latency 0.05

Starts the fake AWS (`--latency` seconds a call, 0 by default) and `awsbroker server --dev`
(its AWS calls in its own process, the default), issues `--count` credentials one after the
other over one keep-alive connection, and prints each of the server's threads' CPU per
credential (`/proc/<pid>/task/*/schedstat`) with its voluntary and involuntary context
switches: the event loop (the main thread), granian's threads, the request worker. Then the
same AWS calls with boto3 from one thread of this process (`time.thread_time()`), and the
ratio. What `bench.issuance_profile` cannot see (the hand-offs between threads) is in the
difference; docs/performance.md reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/issuance_threads.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import stop_all
from bench._issue import TYPES, AWSEndpoint, BrokerClient, DevServer, DirectClient

WARMUP = 300


def threads(pid: int) -> dict[str, tuple[str, int, int, int]]:
    """Per thread: its name, CPU nanoseconds, voluntary and involuntary context switches."""
    out: dict[str, tuple[str, int, int, int]] = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{task}"
        try:
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"{base}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except FileNotFoundError:
            continue  # the thread exited meanwhile
        voluntary = int(status["voluntary_ctxt_switches"])
        involuntary = int(status["nonvoluntary_ctxt_switches"])
        out[task] = (name, ns, voluntary, involuntary)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.issuance_threads")
    p.add_argument("--type", choices=TYPES, default="assumed_role")
    p.add_argument("--count", type=int, default=1000, help="credentials per side")
    p.add_argument("--latency", type=float, default=0.0, help="seconds per fake AWS call")
    a = p.parse_args(argv)
    n = a.count
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        aws = AWSEndpoint("fake", Path(tmp), a.latency)
        server = DevServer(Path(tmp))
        try:
            aws.start()
            server.start()
            server.configure(aws.endpoint, 3)
            client = BrokerClient(server)
            for _ in range(WARMUP):
                client.issue(a.type)
            before, started = threads(server.pid), time.perf_counter()
            for _ in range(n):
                client.issue(a.type)
            wall, after = time.perf_counter() - started, threads(server.pid)
            client.close()
            total = 0
            head = ("thread", "name", "CPU ms/cred", "vol/cred", "invol/cred")
            print("{:>8}  {:<24} {:>11} {:>9} {:>10}".format(*head))
            for task, (name, ns, vol, invol) in sorted(after.items(), key=lambda t: int(t[0])):
                _, ns0, vol0, invol0 = before.get(task, (name, 0, 0, 0))
                total += ns - ns0
                if ns - ns0 or vol - vol0:
                    main_thread = " (event loop)" if int(task) == server.pid else ""
                    print(
                        f"{task:>8}  {name + main_thread:<24} {(ns - ns0) / n / 1e6:11.3f}"
                        f" {(vol - vol0) / n:9.2f} {(invol - invol0) / n:10.2f}"
                    )
            server_ms = total / n / 1e6
            print(f"awsbroker server: {server_ms:.3f} ms CPU/cred, {wall / n * 1000:.2f} ms/cred")
            direct = DirectClient(aws.endpoint, 3, 1)
            for _ in range(WARMUP):
                direct.issue(a.type)
            cpu0 = time.thread_time()
            for _ in range(n):
                direct.issue(a.type)
            direct_ms = (time.thread_time() - cpu0) / n * 1000
            direct.close()
            print(f"direct boto3: {direct_ms:.3f} ms CPU/cred; x CPU {server_ms / direct_ms:.2f}")
        finally:
            server.stop()
            aws.stop()
            stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
