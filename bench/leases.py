"""Leases at scale: start-up and memory vs stored leases, and revocation rate of a backlog.

    .venv/bin/python -m bench.leases                  # full: 10k, 100k, 1M; both stores
    .venv/bin/python -m bench.leases --quick          # 1k, 10k; 50 revocations (CI)
    .venv/bin/python -m bench.leases --storage sqlite --sizes 10000,100000

Prints tables with ratios against baselines measured in the same run, and writes
`bench/results/leases-<storage>.json` (`leases-<storage>-quick.json` with `--quick`). See
`bench/README.md` for what is measured and the caveats.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/leases.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from awsbroker.server.config import RevocationSettings
from bench import _fill, _revoke, _startup
from bench._common import REPO, machine, ratio, stop_all, table
from bench._stores import (
    PostgreSQLTarget,
    SQLiteTarget,
    Target,
    pg_dsn,
    pg_unreachable,
)

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


@dataclass
class Options:
    storages: list[str]
    sizes: list[int]
    repeats: int
    idle: float
    lookups: int
    cycles: int
    revoke_count: int
    sequential_count: int
    rounds: int
    latency: float
    max_retries: int
    startup: bool
    revocation: bool
    quick: bool
    out_dir: Path
    dsn: str


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench.leases", description=__doc__.split("\n")[0])
    p.add_argument("--storage", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--sizes", help="comma-separated lease counts (default 10000,100000,1000000)")
    p.add_argument("--quick", action="store_true", help="small CI-friendly run (about a minute)")
    p.add_argument("--repeats", type=int, help="server starts per size (median; default 3)")
    p.add_argument("--idle", type=float, help="seconds of rest before reading RSS (default 2)")
    p.add_argument("--lookups", type=int, default=50, help="lease look-ups after the rest")
    p.add_argument("--cycles", type=int, default=3, help="seal/unseal cycles per start")
    p.add_argument("--revoke-count", type=int, help="due leases to revoke (default 200)")
    p.add_argument(
        "--sequential-count", type=int, help="users for the sequential baseline (default 30)"
    )
    p.add_argument(
        "--rounds", type=int, help="interleaved rounds of the concurrent phases (default 2)"
    )
    p.add_argument("--latency", type=float, default=0.05, help="seconds added to each AWS call")
    p.add_argument("--max-retries", type=int, default=3, help="aws/config/root max_retries")
    p.add_argument("--skip-startup", action="store_true")
    p.add_argument("--skip-revocation", action="store_true")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    p.add_argument("--pg-dsn", default=pg_dsn(), help="default $AWSBROKER_BENCH_PG_DSN or local")
    a = p.parse_args(argv)
    sizes: tuple[int, ...] = QUICK_SIZES if a.quick else FULL_SIZES
    if a.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in a.sizes.split(",") if s.strip())
    if any(n <= 0 for n in sizes):
        p.error("--sizes: positive counts (the 0 baseline is always measured)")
    return Options(
        storages=["sqlite", "postgresql"] if a.storage == "both" else [a.storage],
        sizes=sorted(set(sizes)),
        repeats=a.repeats or (1 if a.quick else 3),
        idle=a.idle if a.idle is not None else (0.5 if a.quick else 2.0),
        lookups=a.lookups if not a.quick else min(a.lookups, 20),
        cycles=a.cycles,
        revoke_count=a.revoke_count or (50 if a.quick else 200),
        sequential_count=a.sequential_count or (5 if a.quick else 30),
        rounds=a.rounds or (1 if a.quick else 2),
        latency=a.latency,
        max_retries=a.max_retries,
        startup=not a.skip_startup,
        revocation=not a.skip_revocation,
        quick=a.quick,
        out_dir=a.out_dir,
        dsn=a.pg_dsn,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def target_maker(storage: str, workdir: Path, dsn: str) -> Callable[[str], Target]:
    def make(name: str) -> Target:
        if storage == "sqlite":
            return SQLiteTarget(workdir, name)
        return PostgreSQLTarget(dsn)

    return make


RATIO_FIGURES = (
    "listen_s", "unseal_to_ready_s", "start_to_ready_s", "start_cpu_s", "unseal_cpu_ms",
    "reunseal_ms", "reunseal_cpu_ms", "rss_idle_mib", "rss_after_lookups_mib", "hwm_mib",
    "lookup_ms",
)  # fmt: skip


def startup_ratios(sizes: list[_startup.SizeResult]) -> dict[str, dict[str, float]]:
    base = sizes[0]
    return {
        str(s.leases): {
            f: s.median(f) / base.median(f) for f in RATIO_FIGURES if base.median(f) > 0
        }
        for s in sizes[1:]
    }


def startup_table(storage: str, sizes: list[_startup.SizeResult]) -> str:
    base = sizes[0]
    rows: list[list[str]] = []
    for s in sizes:
        m = s.median

        def x(name: str, s: _startup.SizeResult = s) -> str:
            return ratio(s.median(name), base.median(name))

        rows.append(
            [
                f"{s.leases:,}" + (" (baseline)" if s is base else ""),
                f"{s.fill_s:.0f}",
                f"{s.store_mib:.0f}",
                f"{m('listen_s'):.2f}",
                f"{m('start_to_ready_s'):.2f}",
                f"{m('start_cpu_s'):.2f}",
                f"{m('unseal_to_ready_s') * 1000:.0f}",
                f"{m('unseal_cpu_ms'):.1f}",
                f"{m('reunseal_ms'):.0f}",
                f"{m('reunseal_cpu_ms'):.1f}",
                f"{m('rss_idle_mib'):.1f}",
                f"{m('rss_after_lookups_mib'):.1f}",
                f"{m('hwm_mib'):.1f}",
                f"{m('idle_cpu_pct'):.1f}",
                f"{m('lookup_ms'):.1f}",
                x("start_to_ready_s"),
                x("start_cpu_s"),
                x("unseal_to_ready_s"),
                x("unseal_cpu_ms"),
                x("rss_idle_mib"),
                x("rss_after_lookups_mib"),
            ]
        )
    headers = [
        "leases", "fill s", "store MiB", "listen s", "ready s", "CPU s", "unseal ms",
        "unseal CPU ms", "re-unseal ms", "re-unseal CPU ms", "RSS idle", "RSS +lookups",
        "peak RSS", "idle CPU %", "lookup ms", "x ready", "x CPU", "x unseal", "x unseal CPU",
        "x RSS idle", "x RSS +lookups",
    ]  # fmt: skip
    loads = [r.load_1m for s in sizes for r in s.runs]
    title = (
        f"Start-up and memory vs stored leases ({storage}): medians of {len(base.runs)}"
        f" start(s) per size, sizes interleaved; load average {min(loads):.1f}-{max(loads):.1f}"
        " on 2 cores.\nready/CPU: Popen to health 200 (wall, server CPU); unseal: request to"
        " health 200, first unseal after start; re-unseal: seal/unseal cycles after that;"
        " RSS in MiB; x = ratio to the 0-lease baseline"
    )
    return title + "\n" + table(headers, rows)


def revocation_table(phases: list[_revoke.Phase], latency: float) -> str:
    seq = next(p for p in phases if p.workers == 1)
    conc = {p.round: p for p in phases if p.workers > 1 and p.name.startswith("direct")}
    rows: list[list[str]] = []
    for p in phases:
        base = conc.get(p.round, seq)
        rows.append(
            [
                p.name,
                str(p.round),
                str(p.users),
                str(p.workers),
                f"{p.seconds:.2f}",
                f"{p.rate:.1f}",
                f"{p.active_rate:.1f}",
                f"{p.calls / p.users:.1f}" if p.users else "-",
                f"{p.calls_per_s:.0f}",
                f"{p.cpu_ms_per_user:.0f}",
                f"{p.load_1m:.1f}",
                ratio(p.rate, seq.rate),
                ratio(p.rate, base.rate) if p.workers > 1 else "-",
                ratio(p.active_rate, base.rate) if p.workers > 1 else "-",
                str(len(p.failed)),
            ]
        )
    headers = [
        "path", "round", "users", "threads", "seconds", "users/s", "active users/s",
        "IAM calls/user", "IAM calls/s", "CPU ms/user", "load", "x direct seq",
        "x direct conc", "x conc (active)", "failures",
    ]  # fmt: skip
    title = (
        f"Revocation of a backlog of due iam_user leases, {latency * 1000:.0f} ms added per AWS"
        " call. x = awsbroker / direct rate (same round); CPU ms/user: the server's, or the"
        " direct client's"
    )
    summary = []
    for name in sorted({p.name for p in phases if p.name.startswith("awsbroker")}):
        mine = [p for p in phases if p.name == name]
        wall = statistics.median(p.rate / conc[p.round].rate for p in mine)
        active = statistics.median(p.active_rate / conc[p.round].rate for p in mine)
        summary.append(
            f"{name}: median over rounds {wall:.2f}x the direct concurrent rate"
            f" ({active:.2f}x active)"
        )
    return title + "\n" + table(headers, rows) + "\n" + "\n".join(summary)


def run_startup(opts: Options, workdir: Path, results: dict[str, dict[str, object]]) -> list[str]:
    printed = []
    for storage in opts.storages:
        make = target_maker(storage, workdir, opts.dsn)
        log(f"[{storage}] start-up and memory, sizes 0 + {opts.sizes}")
        sizes = _startup.run_all(
            make,
            workdir,
            [0, *opts.sizes],
            repeats=opts.repeats,
            idle=opts.idle,
            lookups=opts.lookups,
            cycles=opts.cycles,
            log=log,
        )
        results[storage]["startup"] = [s.to_json() for s in sizes]
        results[storage]["startup_ratios_vs_baseline"] = startup_ratios(sizes)
        printed.append(startup_table(storage, sizes))
    return printed


def run_revocation(
    opts: Options, aws: _revoke.AWSSide, workdir: Path, results: dict[str, dict[str, object]]
) -> str:
    workers = RevocationSettings().workers
    retries = opts.max_retries
    phases = [
        _revoke.run_direct(aws, opts.sequential_count, 1, max_retries=retries, round_=1, log=log)
    ]
    for round_ in range(1, opts.rounds + 1):
        phases.append(
            _revoke.run_direct(
                aws, opts.revoke_count, workers, max_retries=retries, round_=round_, log=log
            )
        )
        for storage in opts.storages:
            make = target_maker(storage, workdir, opts.dsn)
            phases.append(
                _revoke.broker(
                    aws,
                    make,
                    workdir,
                    count=opts.revoke_count,
                    max_retries=retries,
                    round_=round_,
                    log=log,
                )
            )
    direct = [p.to_json() for p in phases if p.name.startswith("direct")]
    for storage in opts.storages:
        mine = [p for p in phases if p.name == f"awsbroker ({storage}), worker"]
        results[storage]["revocation"] = {
            "latency_s": opts.latency,
            "awsbroker": [p.to_json() for p in mine],
            "direct": direct,
        }
    return revocation_table(phases, opts.latency)


def new_results(opts: Options) -> dict[str, dict[str, object]]:
    return {
        s: {
            "benchmark": "leases",
            "storage": s,
            "quick": opts.quick,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "load_average_at_start": os.getloadavg(),
            "options": {
                "sizes": opts.sizes, "repeats": opts.repeats, "idle_s": opts.idle,
                "lookups": opts.lookups, "cycles": opts.cycles, "revoke_count": opts.revoke_count,
                "sequential_count": opts.sequential_count, "rounds": opts.rounds,
                "latency_s": opts.latency, "max_retries": opts.max_retries,
            },
        }
        for s in opts.storages
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    if "postgresql" in opts.storages:
        reason = pg_unreachable(opts.dsn)
        if reason is not None:
            log(f"PostgreSQL not reachable ({reason}); use --storage sqlite or set --pg-dsn")
            return 2
    started = time.perf_counter()
    results = new_results(opts)
    printed: list[str] = []
    aws: _revoke.AWSSide | None = None
    with tempfile.TemporaryDirectory(prefix="awsbroker-bench-") as tmp:
        workdir = Path(tmp)
        try:
            for storage in opts.storages:
                make = target_maker(storage, workdir, opts.dsn)
                log(f"[{storage}] checking the bulk fill against the real code")
                results[storage]["fill_verification"] = _fill.verify(make("verify"))
            if opts.startup:
                printed += run_startup(opts, workdir, results)
            if opts.revocation:
                log(f"revocation: moto behind a proxy adding {opts.latency * 1000:.0f} ms per call")
                # Moto's werkzeug logs every request, and a traceback for each action it does
                # not implement (ListServiceSpecificCredentials answers 500).
                logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
                aws = _revoke.AWSSide.start(opts.latency)
                printed.append(run_revocation(opts, aws, workdir, results))
        finally:
            stop_all()
            if aws is not None:
                aws.stop()
    elapsed = time.perf_counter() - started
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for storage, result in results.items():
        result["elapsed_s"] = elapsed
        path = opts.out_dir / f"leases-{storage}{'-quick' if opts.quick else ''}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        written.append(path)
    print("\n\n".join(printed))
    print(f"\n{elapsed:.0f}s in all; wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
