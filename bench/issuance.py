"""Issuance: latency and throughput of credentials through awsbroker vs the same AWS calls
made directly with boto3, against the fake AWS (50 ms a call) and against moto.

    .venv/bin/python -m bench.issuance                   # full: fake and moto, about 10 min
    .venv/bin/python -m bench.issuance --quick           # fake only, short phases: about 1 min
    .venv/bin/python -m bench.issuance --backend fake --clients 1,64 --duration 10

Prints the latency and throughput tables with the ratios awsbroker / direct, the server's
CPU per credential by thread group, and issue 18's targets; writes
`bench/results/issuance-<backend>.json` and `.png` (`-quick` with `--quick`). See
`bench/README.md` for what is measured and the caveats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/issuance.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _issue
from bench._common import REPO, THREAD_GROUPS, machine, p99, ratio, stop_all, table
from bench._issue import AWSEndpoint, DevServer, LatencyResult, ThroughputResult

# Issue 18's targets, against the fake AWS (awsbroker / direct):
TARGET_CPU = 1.0  # server CPU per credential, assumed_role and iam_user, at every client count
TARGET_CPU_TYPES = ("assumed_role", "iam_user")
TARGET_LATENCY = 1.05  # median latency, every type
TARGET_THROUGHPUT = 0.8  # credentials per second at TARGET_THROUGHPUT_CLIENTS clients
TARGET_THROUGHPUT_CLIENTS = 64


@dataclass
class Options:
    backends: list[str]
    types: list[str]
    samples: int
    clients: list[int]
    duration: float
    warmup: float
    rounds: int
    cycles: float
    latency: float
    max_retries: int
    do_latency: bool
    do_throughput: bool
    plot: bool
    quick: bool
    out_dir: Path


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.issuance", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fake AWS only, short phases (~1 min)")
    p.add_argument("--backend", choices=("fake", "moto", "both"), help="default both (fake: quick)")
    p.add_argument("--types", default=",".join(_issue.TYPES), help="credential types to measure")
    p.add_argument("--samples", type=int, help="latency samples per type and side (default 100)")
    p.add_argument(
        "--clients", help="concurrent clients, comma-separated (default 1,16,64,256; quick 1,16,64)"
    )
    p.add_argument("--duration", type=float, help="measured seconds per throughput phase (5)")
    p.add_argument("--warmup", type=float, help="seconds before the measured window (1.5)")
    p.add_argument("--rounds", type=int, default=1, help="repeats of the throughput phases")
    p.add_argument(
        "--cycles", type=float, help="credentials per client a window needs at least (2; 1 quick)"
    )
    p.add_argument("--latency", type=float, default=0.05, help="seconds per fake AWS call")
    p.add_argument("--max-retries", type=int, default=3, help="aws/config/root max_retries")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--no-plot", action="store_true", help="no PNG (matplotlib not needed)")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    a = p.parse_args(argv)
    types = [t.strip() for t in a.types.split(",") if t.strip()]
    unknown = set(types) - set(_issue.TYPES)
    if unknown or not types:
        p.error(f"--types: any of {', '.join(_issue.TYPES)}")
    default_clients = "1,16,64" if a.quick else "1,16,64,256"
    clients = [int(c) for c in (a.clients or default_clients).split(",") if c.strip()]
    if any(c <= 0 for c in clients):
        p.error("--clients: positive counts")
    backend = a.backend or ("fake" if a.quick else "both")
    return Options(
        backends=["fake", "moto"] if backend == "both" else [backend],
        types=types,
        samples=a.samples or (10 if a.quick else 100),
        clients=clients,
        duration=a.duration or (1.0 if a.quick else 5.0),
        warmup=a.warmup if a.warmup is not None else (0.5 if a.quick else 1.5),
        rounds=a.rounds,
        cycles=a.cycles or (1.0 if a.quick else 2.0),
        latency=a.latency,
        max_retries=a.max_retries,
        do_latency=not a.skip_latency,
        do_throughput=not a.skip_throughput,
        plot=not a.no_plot,
        quick=a.quick,
        out_dir=a.out_dir,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _calls(n: int | None, samples: int) -> str:
    return "-" if n is None or not samples else f"{n / samples:.1f}"


def latency_table(results: list[LatencyResult], fake_latency: float) -> str:
    rows = []
    for r in results:
        bm, dm = statistics.median(r.broker_s), statistics.median(r.direct_s)
        bp, dp = p99(r.broker_s), p99(r.direct_s)
        rows.append([
            r.backend, r.kind, str(len(r.broker_s)), ms(dm), ms(dp), ms(bm), ms(bp),
            f"{(bm - dm) * 1000:+.1f}", ratio(bm, dm), ratio(bp, dp),
            f"{_calls(r.broker_calls, len(r.broker_s))}/{_calls(r.direct_calls, len(r.direct_s))}",
            f"{r.load_1m:.1f}",
        ])  # fmt: skip
    headers = [
        "AWS", "type", "samples", "direct med ms", "direct p99", "awsbroker med ms",
        "awsbroker p99", "+ms med", "x med", "x p99", "AWS calls/cred b/d", "load",
    ]  # fmt: skip
    title = (
        "Issuance latency, one request at a time, awsbroker (HTTP, dev server) vs direct boto3,"
        f" samples alternating. fake AWS: {fake_latency * 1000:.0f} ms per call; moto: no"
        " added latency. x = awsbroker / direct"
    )
    return title + "\n" + table(headers, rows)


def throughput_pairs(
    results: list[ThroughputResult],
) -> list[tuple[ThroughputResult, ThroughputResult]]:
    direct = {(r.backend, r.kind, r.clients, r.round): r for r in results if r.side == "direct"}
    return [
        (direct[(r.backend, r.kind, r.clients, r.round)], r)
        for r in results
        if r.side == "awsbroker" and (r.backend, r.kind, r.clients, r.round) in direct
    ]


def throughput_table(results: list[ThroughputResult], duration: float) -> str:
    rows = []
    for d, b in throughput_pairs(results):
        b_calls, d_calls = b.aws_calls_per_credential, d.aws_calls_per_credential
        calls = "-" if b_calls is None or d_calls is None else f"{b_calls:.1f}/{d_calls:.1f}"
        aws_cpu = f"{b.aws_cpu_s * 1000 / b.issued:.1f}" if b.issued else "-"
        client_cpu = f"{b.client_cpu_s * 1000 / b.issued:.1f}" if b.issued else "-"
        rows.append([
            b.backend, b.kind, str(b.clients), str(b.round), f"{d.rate:.1f}", f"{b.rate:.1f}",
            ratio(b.rate, d.rate), f"{d.cpu_ms_per_credential:.1f}",
            f"{b.cpu_ms_per_credential:.1f}", ratio(b.cpu_ms_per_credential,
            d.cpu_ms_per_credential), client_cpu, aws_cpu, calls, f"{b.errors}/{d.errors}",
            f"{d.load_1m:.1f}/{b.load_1m:.1f}",
        ])  # fmt: skip
    headers = [
        "AWS", "type", "clients", "round", "direct cred/s", "awsbroker cred/s", "x rate",
        "direct CPU ms/cred", "awsbroker CPU ms/cred", "x CPU",
        "clients CPU ms/cred", "AWS CPU ms/cred",
        "AWS calls/cred b/d", "errors b/d", "load d/b",
    ]  # fmt: skip
    title = (
        f"Issuance throughput: N clients issuing back to back for {duration:g} s (closed loop);"
        " direct = boto3 with N threads in one process; awsbroker = N keep-alive HTTP clients"
        " (coroutines on one thread).\nCPU ms/cred: the awsbroker server's CPU, or the direct"
        " process's, per credential"
        " issued in the window; clients CPU: the load"
        " generator's, and AWS CPU the endpoint's, during awsbroker's phase"
    )
    return title + "\n" + table(headers, rows)


def thread_cpu_ms(result: ThroughputResult) -> dict[str, float]:
    """The server's CPU ms per credential by thread group (empty for direct)."""
    if not result.issued:
        return {}
    return {g: s * 1000 / result.issued for g, s in result.thread_cpu_s.items()}


def thread_table(results: list[ThroughputResult]) -> str:
    rows = []
    for d, b in throughput_pairs(results):
        groups = thread_cpu_ms(b)
        if not groups:
            continue
        rows.append([
            b.backend, b.kind, str(b.clients), str(b.round), f"{d.cpu_ms_per_credential:.2f}",
            f"{b.cpu_ms_per_credential:.2f}", f"{sum(groups.values()):.2f}",
            *(f"{groups.get(g, 0.0):.2f}" for g in THREAD_GROUPS),
        ])  # fmt: skip
    headers = [
        "AWS", "type", "clients", "round", "direct CPU ms/cred", "awsbroker CPU ms/cred",
        "threads sum", *THREAD_GROUPS,
    ]  # fmt: skip
    title = (
        "Where the awsbroker server's CPU goes, ms per credential in the throughput window, by"
        " thread (/proc/<pid>/task/*/schedstat): granian = its runtime threads (unnamed);"
        " event loop = the main thread; request workers = awsbroker-request-*; others = the"
        " ticker and any other named thread. A thread that exits takes its time with it."
    )
    return title + "\n" + table(headers, rows)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def verdict(latencies: list[LatencyResult], throughputs: list[ThroughputResult]) -> list[str]:
    """Issue 18's targets, against the fake AWS."""
    lines = []
    fake_lat = [r for r in latencies if r.backend == "fake"]
    if fake_lat:
        worst = max(
            fake_lat,
            key=lambda r: statistics.median(r.broker_s) / statistics.median(r.direct_s),
        )
        x = statistics.median(worst.broker_s) / statistics.median(worst.direct_s)
        lines.append(
            f"target: median latency at most {TARGET_LATENCY}x direct for every type:"
            f" {_met(x <= TARGET_LATENCY)} (worst {worst.kind}: {x:.3f}x)"
        )
    pairs = [(d, b) for d, b in throughput_pairs(throughputs) if b.backend == "fake"]
    if not pairs:
        return lines
    for kind in TARGET_CPU_TYPES:
        mine = [(d, b) for d, b in pairs if b.kind == kind and d.cpu_ms_per_credential]
        target = f"target: server CPU per {kind} credential at most {TARGET_CPU}x direct's"
        if not mine:
            lines.append(f"{target} at every client count: not measured")
            continue
        d, b = max(mine, key=lambda p: p[1].cpu_ms_per_credential / p[0].cpu_ms_per_credential)
        x = b.cpu_ms_per_credential / d.cpu_ms_per_credential
        counts = ",".join(str(c) for c in sorted({b.clients for _, b in mine}))
        lines.append(
            f"{target} at every client count ({counts}): {_met(x <= TARGET_CPU)}"
            f" (worst at {b.clients} clients: {x:.2f}x)"
        )
    at = [(d, b) for d, b in pairs if b.clients == TARGET_THROUGHPUT_CLIENTS]
    target = (
        f"target: throughput at {TARGET_THROUGHPUT_CLIENTS} clients at least"
        f" {TARGET_THROUGHPUT}x direct's"
    )
    if not at:
        lines.append(f"{target}: not measured (--clients)")
    else:
        d, b = min(at, key=lambda p: p[1].rate / p[0].rate if p[0].rate else 0.0)
        x = b.rate / d.rate if d.rate else 0.0
        lines.append(f"{target}: {_met(x >= TARGET_THROUGHPUT)} (worst {b.kind}: {x:.2f}x)")
    return lines


def run_backend(
    opts: Options, backend: str, workdir: Path
) -> tuple[list[LatencyResult], list[ThroughputResult]]:
    aws = AWSEndpoint(backend, workdir, opts.latency if backend == "fake" else 0.0)
    server = DevServer(workdir)
    latencies: list[LatencyResult] = []
    throughputs: list[ThroughputResult] = []
    try:
        aws.start()
        server.start()
        server.configure(aws.endpoint, opts.max_retries)
        log(f"[{backend}] AWS at {aws.endpoint} (pid {aws.pid}), awsbroker pid {server.pid}")
        if opts.do_latency:
            for kind in opts.types:
                log(f"[{backend}] latency of {kind}: {opts.samples} samples a side")
                latencies.append(
                    _issue.latency(aws, server, kind, opts.samples, max_retries=opts.max_retries)
                )
                aws.reset()
        if opts.do_throughput:
            for round_ in range(1, opts.rounds + 1):
                for kind in opts.types:
                    for i, clients in enumerate(opts.clients):
                        sides = ("direct", "awsbroker") if i % 2 == 0 else ("awsbroker", "direct")
                        for side in sides:
                            log(f"[{backend}] throughput of {kind}, {clients} clients, {side}")
                            result = _issue.throughput(
                                aws, server, kind, side, clients, warmup=opts.warmup,
                                duration=opts.duration, max_retries=opts.max_retries,
                                cycles=opts.cycles, round_=round_,
                            )  # fmt: skip
                            if result.errors:
                                log(f"  {result.errors} errors, first: {result.first_error}")
                            throughputs.append(result)
                            aws.reset()
    finally:
        server.stop()
        aws.stop()
    return latencies, throughputs


def to_json(
    opts: Options,
    backend: str,
    latencies: list[LatencyResult],
    throughputs: list[ThroughputResult],
    *,
    started: str,
    load_at_start: tuple[float, float, float],
) -> dict[str, object]:
    lat = []
    for r in latencies:
        bm, dm = statistics.median(r.broker_s), statistics.median(r.direct_s)
        lat.append({
            **asdict(r),
            "broker_median_s": bm, "broker_p99_s": p99(r.broker_s),
            "direct_median_s": dm, "direct_p99_s": p99(r.direct_s),
            "ratio_median": bm / dm, "ratio_p99": p99(r.broker_s) / p99(r.direct_s),
        })  # fmt: skip
    thr = [
        {
            **asdict(t), "credentials_per_s": t.rate,
            "cpu_ms_per_credential": t.cpu_ms_per_credential,
            "client_cpu_ms_per_credential": t.client_cpu_s * 1000 / t.issued if t.issued else None,
            "aws_calls_per_credential": t.aws_calls_per_credential,
            "thread_cpu_ms_per_credential": thread_cpu_ms(t),
        }
        for t in throughputs
    ]  # fmt: skip
    ratios = [
        {"kind": b.kind, "clients": b.clients, "round": b.round,
         "rate": b.rate / d.rate if d.rate else None,
         "cpu_per_credential": (b.cpu_ms_per_credential / d.cpu_ms_per_credential
                                if d.cpu_ms_per_credential else None)}
        for d, b in throughput_pairs(throughputs)
    ]  # fmt: skip
    return {
        "benchmark": "issuance",
        "backend": backend,
        "quick": opts.quick,
        "when": started,
        "machine": machine(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "options": {
            "types": opts.types, "samples": opts.samples, "clients": opts.clients,
            "duration_s": opts.duration, "warmup_s": opts.warmup, "rounds": opts.rounds,
            "cycles": opts.cycles,
            "fake_latency_s": opts.latency if backend == "fake" else None,
            "max_retries": opts.max_retries,
        },
        "latency": lat,
        "throughput": thr,
        "throughput_ratios": ratios,
        "verdict": verdict(latencies, throughputs) if backend == "fake" else [],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    if opts.plot:
        try:
            import matplotlib  # noqa: F401, PLC0415 - optional: only with --plot
        except ImportError:
            log("matplotlib is missing: pip install -e '.[bench]', or pass --no-plot")
            return 2
    started_at = time.perf_counter()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    load_at_start = os.getloadavg()
    per_backend: dict[str, tuple[list[LatencyResult], list[ThroughputResult]]] = {}
    with tempfile.TemporaryDirectory(prefix="awsbroker-bench-") as tmp:
        try:
            for backend in opts.backends:
                per_backend[backend] = run_backend(opts, backend, Path(tmp))
        finally:
            stop_all()
    elapsed = time.perf_counter() - started_at
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if opts.quick else ""
    written: list[Path] = []
    for backend, (lat, thr) in per_backend.items():
        result = to_json(opts, backend, lat, thr, started=when, load_at_start=load_at_start)
        result["elapsed_s"] = elapsed
        path = opts.out_dir / f"issuance-{backend}{suffix}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        written.append(path)
        if opts.plot:
            from bench import _plot  # noqa: PLC0415 - needs matplotlib, optional

            png = opts.out_dir / f"issuance-{backend}{suffix}.png"
            _plot.issuance(png, backend, lat, thr)
            written.append(png)
    all_lat = [r for lat, _ in per_backend.values() for r in lat]
    all_thr = [r for _, thr in per_backend.values() for r in thr]
    printed = []
    if all_lat:
        printed.append(latency_table(all_lat, opts.latency))
    if all_thr:
        printed.append(throughput_table(all_thr, opts.duration))
        printed.append(thread_table(all_thr))
    print("\n\n".join(printed))
    for line in verdict(all_lat, all_thr):
        print(line)
    load = os.getloadavg()
    print(
        f"\nload average {load_at_start[0]:.1f} at start, {load[0]:.1f} at end, on"
        f" {os.cpu_count()} cores; {elapsed:.0f}s in all; wrote "
        + ", ".join(str(p) for p in written)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
