"""Several nodes on one PostgreSQL table: what the coherence rule costs one node (the code
before the rule vs the repository's `src/`), and credentials per second with 1, 2 and 3 nodes.

    .venv/bin/python -m bench.cluster                    # full: 3 rounds, 20 s windows
    .venv/bin/python -m bench.cluster --quick            # one round, short phases: 1-2 min
    .venv/bin/python -m bench.cluster --before 9b6fe7b --rounds 5 --skip-scaling

Prints two tables with the ratios after / before and against direct boto3, and writes
`bench/results/cluster.json` (`cluster-quick.json` with `--quick`). See `bench/README.md` for
what is measured and the caveats.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as `python bench/cluster.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _cluster, _issue
from bench._cluster import KIND, Block, Cluster, Code, Meter, Run
from bench._common import REPO, machine, ratio, stop_all, table
from bench._issue import AWSEndpoint, ThroughputResult
from bench._stores import PostgreSQLTarget, pg_dsn, pg_unreachable

TARGET_SHARE = 0.10  # the rule's share of the server's CPU for lookup-self, at most
DEFAULT_BEFORE = "9b6fe7b"  # the last revision without the coherence rule
WARM_LOOKUPS = 100  # lookups a node serves once started, before anything is measured
WARM_ISSUES = 10  # credentials likewise: the first builds the mount's AWS clients
BLOCK_WARMUP = 2  # requests (per client) before each measured block, on its new connection(s)
CYCLES = 2.0  # credentials per client a throughput window needs at least


@dataclass
class Options:
    before: str
    rounds: int
    blocks: int
    lookups: int
    concurrency: int
    issues: int
    latency: float
    clients: int
    duration: float
    warmup: float
    nodes: list[int]
    max_retries: int
    coherence: bool
    scaling: bool
    quick: bool
    out_dir: Path
    dsn: str


def parse(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench.cluster", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="one round, short phases (1-2 min)")
    p.add_argument(
        "--before", default=DEFAULT_BEFORE, help=f"git revision without the rule ({DEFAULT_BEFORE})"
    )
    p.add_argument("--rounds", type=int, help="interleaved before/after rounds (3; 1 quick)")
    p.add_argument(
        "--blocks", type=int, default=4, help="blocks a phase is cut into, alternating (4)"
    )
    p.add_argument("--lookups", type=int, help="lookup-self requests per phase (3000; 1000 quick)")
    p.add_argument(
        "--concurrency", type=int, default=16, help="clients of the concurrent lookups (16)"
    )
    p.add_argument("--issues", type=int, help="sequential credentials per phase (200; 50 quick)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds per fake AWS call (0.05)")
    p.add_argument("--clients", type=int, default=32, help="clients spread over the nodes (32)")
    p.add_argument("--duration", type=float, help="measured seconds per node count (20; 3 quick)")
    p.add_argument("--warmup", type=float, help="seconds before a measured window (2; 1 quick)")
    p.add_argument("--nodes", default="1,2,3", help="node counts, comma-separated (1,2,3)")
    p.add_argument("--max-retries", type=int, default=3, help="aws/config/root max_retries (3)")
    p.add_argument("--skip-coherence", action="store_true", help="only the node counts")
    p.add_argument("--skip-scaling", action="store_true", help="only the before/after rounds")
    p.add_argument("--pg-dsn", default=None, help="PostgreSQL (default $AWSBROKER_BENCH_PG_DSN)")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    a = p.parse_args(argv)
    nodes = sorted({int(n) for n in a.nodes.split(",") if n.strip()})
    if not nodes or nodes[0] <= 0:
        p.error("--nodes: positive counts")
    if a.clients < nodes[-1]:
        p.error("--clients: at least one client per node")
    return Options(
        before=a.before,
        rounds=a.rounds or (1 if a.quick else 3),
        blocks=max(1, a.blocks),
        lookups=a.lookups or (1000 if a.quick else 3000),
        concurrency=a.concurrency,
        issues=a.issues or (50 if a.quick else 200),
        latency=a.latency,
        clients=a.clients,
        duration=a.duration or (3.0 if a.quick else 20.0),
        warmup=a.warmup if a.warmup is not None else (1.0 if a.quick else 2.0),
        nodes=nodes,
        max_retries=a.max_retries,
        coherence=not a.skip_coherence,
        scaling=not a.skip_scaling,
        quick=a.quick,
        out_dir=a.out_dir,
        dsn=a.pg_dsn or pg_dsn(),
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- 1. the coherence rule's cost on one node ----------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str  # "lookup-self" or the credential type
    clients: int

    @property
    def label(self) -> str:
        return f"{self.name}, {self.clients} client{'s' if self.clients > 1 else ''}"


def phases(opts: Options) -> list[Phase]:
    return [Phase("lookup-self", 1), Phase("lookup-self", opts.concurrency), Phase(KIND, 1)]


def _per_block(opts: Options, total: int) -> int:
    return max(1, total // opts.blocks)


def block(opts: Options, phase: Phase, cluster: Cluster) -> Block:
    """One block of the phase's requests on the cluster's node."""
    node = cluster.nodes[0]
    if phase.name == KIND:
        count = _per_block(opts, opts.issues)
        return _cluster.issues(node, opts.dsn, count=count, warmup=BLOCK_WARMUP)
    count = _per_block(opts, opts.lookups)
    if phase.clients == 1:
        return _cluster.lookups(node, opts.dsn, count=count, warmup=BLOCK_WARMUP)
    return _cluster.concurrent_lookups(
        node, opts.dsn, count=count, clients=phase.clients, warmup=BLOCK_WARMUP
    )


def measure(opts: Options, phase: Phase, clusters: list[Cluster], round_: int) -> list[Run]:
    """One round of a phase: `--blocks` blocks on each node, the order alternating (before
    after, after before, ...), so that load that comes and goes falls on both alike."""
    blocks: dict[str, list[Block]] = {c.code.label: [] for c in clusters}
    for i in range(opts.blocks):
        for cluster in clusters if i % 2 == 0 else clusters[::-1]:
            blocks[cluster.code.label].append(block(opts, phase, cluster))
    return [
        Run.of(c.code.label, phase.name, round_, phase.clients, blocks[c.code.label])
        for c in clusters
    ]


def _progress(run: Run) -> str:
    pg = "-" if run.pg_cpu_us is None else f"{run.pg_cpu_us:.0f}"
    latency = f", p50 {run.latency_s['p50'] * 1000:.2f} ms" if run.latency_s else ""
    return (
        f"  round {run.round}, {run.code:>6}, {run.phase} x{run.clients}: {run.requests} in"
        f" {run.seconds:.1f}s, {run.cpu_us:.0f} us CPU/req (PostgreSQL {pg}){latency},"
        f" load {run.load_1m:.1f}"
    )


def start_single(
    code: Code, target: PostgreSQLTarget, workdir: Path, opts: Options, aws: str
) -> Cluster:
    cluster = Cluster(code, target, workdir)
    node = cluster.add_node()
    cluster.mount_aws(aws, opts.max_retries)
    cluster.check_code()
    _cluster.lookups(node, opts.dsn, count=0, warmup=WARM_LOOKUPS)
    _cluster.issues(node, opts.dsn, count=0, warmup=WARM_ISSUES)
    log(f"[coherence] {code.label} ({code.rev}, {code.src}): pid {node.pid}, table {target.table}")
    return cluster


def run_coherence(
    opts: Options, aws: AWSEndpoint, workdir: Path, after: Code
) -> tuple[Code, list[Run]]:
    """A node of each code, each on its own table; `--rounds` rounds of every phase."""
    with _cluster.worktree(opts.before, workdir) as before:
        targets = [PostgreSQLTarget(opts.dsn), PostgreSQLTarget(opts.dsn)]
        clusters: list[Cluster] = []
        try:
            for code, target in zip((before, after), targets, strict=True):
                clusters.append(start_single(code, target, workdir, opts, aws.endpoint))
            runs: list[Run] = []
            for round_ in range(1, opts.rounds + 1):
                for phase in phases(opts):
                    for run in measure(opts, phase, clusters, round_):
                        runs.append(run)
                        log(_progress(run))
                    aws.reset()
            return before, runs
        finally:
            for cluster in clusters:
                cluster.stop()
            for target in targets:
                target.cleanup()


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def medians(runs: list[Run], phase: Phase, code: str) -> dict[str, float | None]:
    """The medians over the rounds of one phase on one code's node."""
    mine = [r for r in runs if (r.phase, r.clients, r.code) == (phase.name, phase.clients, code)]
    out: dict[str, float | None] = {
        "cpu_us": _median([r.cpu_us for r in mine]),
        "pg_cpu_us": _median([r.pg_cpu_us for r in mine]),
        "requests_per_s": _median([r.rate for r in mine]),
        "load_1m": _median([r.load_1m for r in mine]),
    }
    for name in ("mean", "p50", "p99"):
        out[f"latency_{name}_s"] = _median([r.latency_s.get(name) for r in mine])
    return out


def ratios(runs: list[Run], phase: Phase) -> dict[str, float | None]:
    """after / before of each median of a phase."""
    b, a = medians(runs, phase, "before"), medians(runs, phase, "after")
    return {name: _ratio(a[name], b[name]) for name in b if name != "load_1m"}


def _ratio(after: float | None, before: float | None) -> float | None:
    return None if after is None or not before else after / before


def _x(after: float | None, before: float | None) -> str:
    x = _ratio(after, before)
    return "-" if x is None else f"{x:.2f}x"


def _num(value: float | None, scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"


def _coherence_row(
    label: str, code: str, m: dict[str, float | None], base: dict[str, float | None] | None
) -> list[str]:
    """A row of the table; the ratios to `base` (the before row's) on the after row."""

    def x(name: str) -> str:
        return "" if base is None else _x(m[name], base[name])

    return [
        label, code, _num(m["cpu_us"]), x("cpu_us"),
        _num(m["pg_cpu_us"]), x("pg_cpu_us"), _num(m["latency_mean_s"], 1000, 2),
        _num(m["latency_p50_s"], 1000, 2), _num(m["latency_p99_s"], 1000, 2),
        x("latency_p50_s"), _num(m["requests_per_s"]), x("requests_per_s"),
        _num(m["load_1m"], digits=1),
    ]  # fmt: skip


def coherence_table(opts: Options, runs: list[Run], before: Code, after: Code) -> str:
    rows = []
    for phase in phases(opts):
        b, a = medians(runs, phase, "before"), medians(runs, phase, "after")
        rows += [_coherence_row(phase.label, "before", b, None), _coherence_row("", "after", a, b)]
    headers = [
        "phase", "code", "CPU us/req", "x CPU", "PostgreSQL CPU us/req",
        "x PG", "mean ms", "p50 ms", "p99 ms", "x p50", "req/s", "x rate", "load",
    ]  # fmt: skip
    title = (
        f"The coherence rule on one node on PostgreSQL: before = {before.rev} (without the"
        f" rule), after = {after.rev} ({after.src}). Medians of {opts.rounds} round(s), each"
        f" phase in {opts.blocks} blocks a node, alternating; x = after / before.\nCPU us/req:"
        " the server's process tree (a before revision's AWS call processes included);"
        " PostgreSQL: the backends serving it. A phase: "
        f"{opts.lookups} lookups, or {opts.issues} credentials (fake AWS,"
        f" {opts.latency * 1000:.0f} ms a call), a node a round"
    )
    return title + "\n" + table(headers, rows)


def coherence_share(runs: list[Run], clients: int) -> tuple[float, float] | None:
    """(the rule's share of the after server's CPU per lookup-self, after / before - 1)."""
    phase = Phase("lookup-self", clients)
    b, a = medians(runs, phase, "before")["cpu_us"], medians(runs, phase, "after")["cpu_us"]
    if not a or not b:
        return None
    return (a - b) / a, a / b - 1


def coherence_met(runs: list[Run]) -> bool | None:
    one = coherence_share(runs, 1)
    return None if one is None else one[0] < TARGET_SHARE


def coherence_verdict(opts: Options, runs: list[Run]) -> str:
    one = coherence_share(runs, 1)
    many = coherence_share(runs, opts.concurrency)
    if one is None:
        return "target: the coherence rule's cost under 10% of the server's CPU: no figures"
    met = "met" if coherence_met(runs) else "NOT met"
    line = (
        f"target: the coherence rule's cost under {TARGET_SHARE:.0%} of the server's CPU for"
        f" lookup-self on one node: {met} ({one[0]:+.1%} of the after server's CPU, after /"
        f" before {one[1]:+.1%}, one client"
    )
    if many is not None:
        line += f"; {many[0]:+.1%} with {opts.concurrency} clients"
    return line + ")"


# ---- 2. credentials per second with 1, 2 and 3 nodes ----------------------------------------


@dataclass
class Scale:
    nodes: int
    broker: ThroughputResult
    direct: ThroughputResult
    pg_cpu_s: float | None  # the PostgreSQL backends serving the nodes, the whole phase

    @property
    def pg_cpu_ms_per_credential(self) -> float | None:
        issued = self.broker.total_issued
        return None if self.pg_cpu_s is None or not issued else self.pg_cpu_s * 1000 / issued

    def to_json(self) -> dict[str, object]:
        return {
            "nodes": self.nodes,
            "awsbroker": {**asdict(self.broker), "credentials_per_s": self.broker.rate,
                          "cpu_ms_per_credential": self.broker.cpu_ms_per_credential},
            "direct": {**asdict(self.direct), "credentials_per_s": self.direct.rate,
                       "cpu_ms_per_credential": self.direct.cpu_ms_per_credential},
            "pg_cpu_s": self.pg_cpu_s,
            "pg_cpu_ms_per_credential": self.pg_cpu_ms_per_credential,
            "aws_calls_per_credential": self.broker.aws_calls_per_credential,
            "ratio_to_direct": self.broker.rate / self.direct.rate if self.direct.rate else None,
        }  # fmt: skip


def _grow(cluster: Cluster, count: int, opts: Options, aws: AWSEndpoint) -> None:
    while len(cluster.nodes) < count:
        node = cluster.add_node()
        if len(cluster.nodes) == 1:
            cluster.mount_aws(aws.endpoint, opts.max_retries)
            cluster.check_code()
        log(f"[scaling] node {len(cluster.nodes)}: pid {node.pid}, port {node.port}")


def _throughput(
    opts: Options, aws: AWSEndpoint, cluster: Cluster, side: str
) -> tuple[ThroughputResult, float | None]:
    """One closed-loop phase of `--clients` clients, and the CPU of the nodes' PostgreSQL
    backends over all of it (awsbroker's side)."""
    log(f"[scaling] {len(cluster.nodes)} node(s), {opts.clients} clients, {side}")
    meter = Meter(opts.dsn, cluster.pids)
    meter.start()
    result = _issue.throughput(
        aws, cluster.nodes, KIND, side, opts.clients, warmup=opts.warmup,
        duration=opts.duration, max_retries=opts.max_retries, cycles=CYCLES,
    )  # fmt: skip
    usage = meter.stop()
    aws.reset()
    if result.errors:
        log(f"  {result.errors} errors, first: {result.first_error}")
    return result, usage.pg_cpu_s if side == "awsbroker" else None


def run_scaling(opts: Options, aws: AWSEndpoint, workdir: Path, code: Code) -> list[Scale]:
    """Nodes added one by one on one table; at each count, direct and awsbroker phases, the
    order alternating from one count to the next."""
    target = PostgreSQLTarget(opts.dsn)
    cluster = Cluster(code, target, workdir)
    scales: list[Scale] = []
    try:
        for i, count in enumerate(opts.nodes):
            _grow(cluster, count, opts, aws)
            sides = ("direct", "awsbroker") if i % 2 == 0 else ("awsbroker", "direct")
            results = {side: _throughput(opts, aws, cluster, side) for side in sides}
            broker, pg_cpu = results["awsbroker"]
            scales.append(Scale(count, broker, results["direct"][0], pg_cpu))
        return scales
    finally:
        cluster.stop()
        target.cleanup()


def _spread(clients: int, nodes: int) -> str:
    return "/".join(str(len(range(i, clients, nodes))) for i in range(nodes))


def _nodes(count: int) -> str:
    return f"{count} node{'s' if count > 1 else ''}"


def _per(seconds: float, issued: int) -> str:
    """CPU seconds as milliseconds per credential."""
    return f"{seconds * 1000 / issued:.2f}" if issued else "-"


def scaling_table(opts: Options, scales: list[Scale]) -> str:
    base = scales[0].broker.rate
    rows = []
    for s in scales:
        b, d = s.broker, s.direct
        rows.append([
            str(s.nodes), _spread(opts.clients, s.nodes), f"{b.rate:.1f}", ratio(b.rate, base),
            f"{d.rate:.1f}", ratio(b.rate, d.rate), f"{b.cpu_ms_per_credential:.2f}",
            f"{d.cpu_ms_per_credential:.2f}",
            _num(s.pg_cpu_ms_per_credential, digits=2), _per(b.client_cpu_s, b.issued),
            _per(b.aws_cpu_s, b.issued), _num(b.aws_calls_per_credential, digits=2),
            f"{b.errors}/{d.errors}", f"{d.load_1m:.1f}/{b.load_1m:.1f}",
        ])  # fmt: skip
    headers = [
        "nodes", "clients per node", "awsbroker cred/s", f"x {_nodes(scales[0].nodes)}",
        "direct cred/s",
        "x direct", "awsbroker CPU ms/cred", "direct CPU ms/cred",
        "PostgreSQL CPU ms/cred", "clients CPU ms/cred", "AWS CPU ms/cred", "AWS calls/cred",
        "errors b/d", "load d/b",
    ]  # fmt: skip
    title = (
        f"{KIND} credentials per second: {opts.clients} clients issuing back to back for"
        f" {opts.duration:g} s, spread over the nodes of one server on one PostgreSQL table;"
        f" direct = boto3 with {opts.clients} threads in one process, against the same fake AWS"
        f" ({opts.latency * 1000:.0f} ms a call).\nawsbroker CPU: all nodes' processes;"
        " PostgreSQL: the backends serving the nodes, over the"
        f" whole phase; {os.cpu_count()} cores for everything"
    )
    return title + "\n" + table(headers, rows)


# ---- the run --------------------------------------------------------------------------------


def to_json(
    opts: Options,
    *,
    before: Code | None,
    after: Code,
    runs: list[Run],
    scales: list[Scale],
    extra: dict[str, object],
) -> dict[str, object]:
    coherence: dict[str, object] = {}
    if runs:
        coherence = {
            "runs": [r.to_json() for r in runs],
            "medians": [
                {"phase": p.name, "clients": p.clients, "code": code, **medians(runs, p, code)}
                for p in phases(opts)
                for code in ("before", "after")
            ],
            "ratios_after_to_before": [
                {"phase": p.name, "clients": p.clients, **ratios(runs, p)} for p in phases(opts)
            ],
            "rule_cost": {
                f"{clients}_clients": dict(zip(("share_of_after_cpu", "after_over_before_minus_1"),
                                               coherence_share(runs, clients) or (None, None),
                                               strict=True))
                for clients in (1, opts.concurrency)
            },
            "target_share": TARGET_SHARE,
            "met": coherence_met(runs),
            "verdict": coherence_verdict(opts, runs),
        }  # fmt: skip
    options = asdict(opts)
    options["out_dir"] = str(opts.out_dir)
    options.pop("dsn")
    return {
        "benchmark": "cluster",
        "quick": opts.quick,
        **extra,
        "machine": machine(),
        "options": options,
        "before": None if before is None else {"rev": before.rev, "src": str(before.src)},
        "after": {"rev": after.rev, "src": str(after.src)},
        "coherence": coherence,
        "scaling": [s.to_json() for s in scales],
    }


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds: every server, worktree and table is removed


def run(opts: Options, workdir: Path) -> tuple[Code | None, Code, list[Run], list[Scale]]:
    after = _cluster.current_code()
    before: Code | None = None
    runs: list[Run] = []
    scales: list[Scale] = []
    aws = AWSEndpoint("fake", workdir, opts.latency)
    try:
        aws.start()
        log(f"fake AWS at {aws.endpoint} (pid {aws.pid}, {opts.latency * 1000:.0f} ms a call)")
        if opts.coherence:
            before, runs = run_coherence(opts, aws, workdir, after)
        if opts.scaling:
            scales = run_scaling(opts, aws, workdir, after)
    finally:
        aws.stop()
    return before, after, runs, scales


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    problem = pg_unreachable(opts.dsn)
    if problem:
        log(f"PostgreSQL is needed ({opts.dsn}): {problem}")
        return 2
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started_at = time.perf_counter()
    when = datetime.now(UTC).isoformat(timespec="seconds")
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="awsbroker-bench-") as tmp:
        try:
            before, after, runs, scales = run(opts, Path(tmp))
        finally:
            stop_all()
    elapsed = time.perf_counter() - started_at
    extra: dict[str, object] = {
        "when": when, "elapsed_s": elapsed, "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
    }  # fmt: skip
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    path = opts.out_dir / f"cluster{'-quick' if opts.quick else ''}.json"
    result = to_json(opts, before=before, after=after, runs=runs, scales=scales, extra=extra)
    path.write_text(json.dumps(result, indent=2) + "\n")
    printed = []
    if runs and before is not None:
        printed.append(coherence_table(opts, runs, before, after))
        printed.append(coherence_verdict(opts, runs))
    if scales:
        printed.append("\n" + scaling_table(opts, scales))
    print("\n".join(printed))
    load = os.getloadavg()
    print(
        f"\nload average {load_at_start[0]:.1f} at start, {load[0]:.1f} at end, on"
        f" {os.cpu_count()} cores; {elapsed:.0f}s in all; wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
