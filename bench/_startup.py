"""Benchmark 1: start-up time and memory of a real server process vs the number of leases.

Per size N (and N = 0, the baseline): a fresh store, an in-process core initialised on it,
N leases bulk-written (`_fill`), the in-process core closed. Once every store is written and
the disks are quiet, a real `awsbroker server --config FILE` process is started on each store
in turn, `repeats` rounds (sizes interleaved, so that load from anything else on the machine
falls on all sizes alike). Per start: time and CPU from `Popen` until `sys/health` answers 503
(listening, sealed) and from the unseal request until it answers 200 (ready); VmRSS after
`idle` seconds of rest and after `lookups` lease look-ups; then `cycles` seal/unseal rounds,
each unseal timed and its CPU counted.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import _fill
from bench._common import ServerProcess, call, cpu_seconds, proc_status, thread_cpu_seconds
from bench._stores import Target


@dataclass
class Run:
    listen_s: float
    unseal_to_ready_s: float
    start_to_ready_s: float
    start_cpu_s: float  # CPU the process used from Popen until ready
    unseal_cpu_ms: float  # CPU it used from the unseal request until ready
    reunseal_ms: float  # median of the seal/unseal cycles: unseal request until ready
    reunseal_cpu_ms: float
    rss_idle_mib: float
    rss_after_lookups_mib: float
    hwm_mib: float
    idle_cpu_pct: float
    lookup_ms: float
    load_1m: float  # the machine's load average when the run started


@dataclass
class SizeResult:
    leases: int
    fill_s: float
    fill_encrypt_s: float
    store_mib: float
    runs: list[Run] = field(default_factory=list)

    def median(self, name: str) -> float:
        return float(statistics.median(getattr(run, name) for run in self.runs))

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["median"] = {name: self.median(name) for name in Run.__dataclass_fields__}
        return out


@dataclass
class Store:
    """A filled store, ready for servers to start on."""

    target: Target
    unseal_key_hex: str
    root_token: str
    lookup_ids: list[str]
    result: SizeResult


def _mib(kib: int) -> float:
    return kib / 1024


def _unseal_until_ready(server: ServerProcess, key_hex: str) -> tuple[float, float]:
    """Unseal and wait for health 200: (seconds, CPU milliseconds of the server meanwhile)."""
    cpu0 = thread_cpu_seconds(server.pid)
    t0 = time.perf_counter()
    server.unseal(key_hex)
    ready = server.wait_for_health((200,))
    return ready - t0, (thread_cpu_seconds(server.pid) - cpu0) * 1000


def measure(
    server: ServerProcess, store: Store, *, idle: float, cycles: int, expect_found: bool
) -> Run:
    load = os.getloadavg()[0]
    server.start()
    try:
        listening = server.wait_for_health((501, 503)) - server.started_at
        unseal_s, unseal_cpu = _unseal_until_ready(server, store.unseal_key_hex)
        ready_at = time.perf_counter()
        start_cpu = cpu_seconds(server.pid)
        cpu0 = cpu_seconds(server.pid)
        time.sleep(idle)
        idle_cpu = (cpu_seconds(server.pid) - cpu0) / idle * 100
        idle_mem = proc_status(server.pid)
        took: list[float] = []
        for lease_id in store.lookup_ids:
            t0 = time.perf_counter()
            answer = call(
                server.port,
                "PUT",
                "sys/leases/lookup",
                {"lease_id": lease_id},
                token=store.root_token,
            )
            took.append(time.perf_counter() - t0)
            if expect_found and (answer.status != 200 or answer.body["data"]["id"] != lease_id):
                raise RuntimeError(f"lookup of {lease_id}: {answer.status} {answer.body}")
            if not expect_found and answer.status != 400:
                raise RuntimeError(f"lookup of a missing lease: {answer.status} {answer.body}")
        after = proc_status(server.pid)
        again: list[tuple[float, float]] = []
        for _ in range(cycles):
            sealed = call(server.port, "PUT", "sys/seal", token=store.root_token)
            if sealed.status != 204:
                raise RuntimeError(f"seal: {sealed.status} {sealed.body}")
            again.append(_unseal_until_ready(server, store.unseal_key_hex))
        return Run(
            listen_s=listening,
            unseal_to_ready_s=unseal_s,
            start_to_ready_s=ready_at - server.started_at,
            start_cpu_s=start_cpu,
            unseal_cpu_ms=unseal_cpu,
            reunseal_ms=statistics.median(s for s, _ in again) * 1000 if again else 0.0,
            reunseal_cpu_ms=statistics.median(c for _, c in again) if again else 0.0,
            rss_idle_mib=_mib(idle_mem["VmRSS"]),
            rss_after_lookups_mib=_mib(after["VmRSS"]),
            hwm_mib=_mib(after["VmHWM"]),
            idle_cpu_pct=idle_cpu,
            lookup_ms=statistics.mean(took) * 1000 if took else 0.0,
            load_1m=load,
        )
    finally:
        server.stop()


def fill_store(
    make_target: Callable[[str], Target], n: int, *, lookups: int, log: Callable[[str], None]
) -> Store:
    target = make_target(f"startup-{n}")
    try:
        prepared = _fill.prepare(target)
        try:
            filled = _fill.fill(prepared, n, samples=lookups)
        finally:
            prepared.close()
        result = SizeResult(
            leases=n,
            fill_s=filled.seconds,
            fill_encrypt_s=filled.encrypt_seconds,
            store_mib=target.size_bytes() / 2**20,
        )
    except BaseException:
        target.cleanup()
        raise
    log(
        f"  {target.kind}: {n} leases written in {filled.seconds:.1f}s,"
        f" store {result.store_mib:.0f} MiB"
    )
    if n:
        ids = [s.lease_id for s in filled.samples]
    else:  # nothing stored: look up IDs that do not exist (the answer is 400)
        rng = random.Random(n)
        ids = [f"{_fill.LEASE_PREFIX}missing{rng.randrange(10**9)}" for _ in range(lookups)]
    return Store(target, prepared.unseal_key_hex, prepared.root_token, ids, result)


def _dirty_mib() -> float:
    """Dirty and under-writeback page cache, MiB (/proc/meminfo)."""
    total = 0
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("Dirty", "Writeback"):
                total += int(rest.split()[0])
    return total / 1024


def settle(log: Callable[[str], None], limit_mib: float = 64, timeout: float = 120) -> None:
    """Flush what the fills wrote, so the servers measured do not compete with writeback."""
    t0 = time.perf_counter()
    os.sync()
    while _dirty_mib() > limit_mib and time.perf_counter() - t0 < timeout:
        time.sleep(0.5)
    log(f"  disks settled in {time.perf_counter() - t0:.1f}s ({_dirty_mib():.0f} MiB dirty)")


def run_all(
    make_target: Callable[[str], Target],
    workdir: Path,
    sizes: list[int],
    *,
    repeats: int,
    idle: float,
    lookups: int,
    cycles: int,
    log: Callable[[str], None],
) -> list[SizeResult]:
    """Fill a store per size (0 first: the baseline), then measure them, interleaved."""
    stores: list[Store] = []
    try:
        for n in sizes:
            stores.append(fill_store(make_target, n, lookups=lookups, log=log))
        settle(log)
        for i in range(repeats):
            for store in stores:
                server = ServerProcess(workdir, store.target.kind, store.target.server_storage())
                run = measure(
                    server, store, idle=idle, cycles=cycles, expect_found=store.result.leases > 0
                )
                store.result.runs.append(run)
                log(
                    f"    round {i + 1}, {store.result.leases:>9,} leases:"
                    f" listening {run.listen_s:.2f}s,"
                    f" unseal->ready {run.unseal_to_ready_s * 1000:.0f}ms"
                    f" (re-unseal {run.reunseal_ms:.0f}ms),"
                    f" RSS {run.rss_idle_mib:.1f}/{run.rss_after_lookups_mib:.1f} MiB,"
                    f" load {run.load_1m:.1f}"
                )
        return [store.result for store in stores]
    finally:
        for store in stores:
            store.target.cleanup()
