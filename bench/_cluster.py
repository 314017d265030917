"""The pieces of the cluster benchmark: the code a server runs (a git revision checked out in a
worktree, or the repository's `src/`), nodes of one server on one PostgreSQL table, the CPU of
the PostgreSQL backends serving them, and the one-node measurements of the coherence rule.

Every request a node serves first reads the storage's change count (`core/changes.py`, a
sequence read on a connection of its own on PostgreSQL); the measurements here compare the
server's CPU per request with and without that rule, and PostgreSQL's apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import _issue
from bench._common import (
    REPO,
    ServerProcess,
    call,
    p99,
    thread_cpu_seconds,
    tree_cpu_seconds,
)
from bench._issue import AWS_ENV, AsyncBrokerClient, BrokerClient
from bench._stores import PostgreSQLTarget

LOOKUP_SELF = "auth/token/lookup-self"
KIND = "assumed_role"  # the credential type issued: one AWS call (AssumeRole)
# A module only the code with the coherence rule has: its server creates `<table>_changes`.
RULE_MODULE = Path("awsbroker/core/changes.py")


# ---- the code a server runs -----------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """The awsbroker code a server runs: `src` goes first on the server's `PYTHONPATH`, ahead
    of the virtualenv's editable install of the repository's `src/`."""

    label: str  # "before" or "after"
    rev: str  # the git revision (the repository's HEAD, with its `src/` as is, for "after")
    src: Path

    def env(self) -> dict[str, str]:
        return {**AWS_ENV, "PYTHONPATH": str(self.src)}

    @property
    def has_rule(self) -> bool:
        return (self.src / RULE_MODULE).exists()


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


@contextlib.contextmanager
def worktree(rev: str, parent: Path) -> Iterator[Code]:
    """`rev` checked out in a detached worktree under `parent`; removed on the way out, after
    an error or Ctrl-C too."""
    full = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    path = parent / f"before-{full[:12]}"
    try:
        git("worktree", "add", "--detach", str(path), full)
        yield Code("before", full[:12], path / "src")
    finally:
        if path.exists():
            with contextlib.suppress(RuntimeError):
                git("worktree", "remove", "--force", str(path))


def current_code() -> Code:
    """The repository's `src/` as it is: HEAD, `+dirty src` with uncommitted changes in it."""
    dirty = " +dirty src" if git("status", "--porcelain", "src") else ""
    return Code("after", git("rev-parse", "--short=12", "HEAD") + dirty, REPO / "src")


# ---- nodes ----------------------------------------------------------------------------------


class Node:
    """One `awsbroker server` process of a cluster, with the root token: a `_issue.Broker`."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.server = server
        self.token = token

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        return self.server.pid


class Cluster:
    """Nodes running one `Code` on one PostgreSQL table: the first initialises the storage
    (one key share), every node is unsealed with the same key; `aws/` is mounted and
    configured through the first."""

    def __init__(self, code: Code, target: PostgreSQLTarget, workdir: Path) -> None:
        self.code = code
        self.target = target
        self.workdir = workdir
        self.nodes: list[Node] = []
        self._key_hex = ""
        self._token = ""

    @property
    def pids(self) -> list[int]:
        return [node.pid for node in self.nodes]

    def add_node(self) -> Node:
        storage = self.target.server_storage()
        server = ServerProcess(self.workdir, "postgresql", storage, env=self.code.env())
        server.start()
        try:
            server.wait_for_health((501, 503))  # not initialised, or sealed
            if not self.nodes:
                self._initialise(server)
            server.unseal(self._key_hex)
            server.wait_for_health((200,))
        except BaseException:
            server.stop()
            raise
        node = Node(server, self._token)
        self.nodes.append(node)
        return node

    def _initialise(self, server: ServerProcess) -> None:
        answer = call(server.port, "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        if answer.status != 200:
            raise RuntimeError(f"sys/init: {answer.status} {answer.body}\n{server.log()}")
        self._key_hex = answer.body["keys"][0]
        self._token = answer.body["root_token"]

    def mount_aws(self, endpoint: str, max_retries: int) -> None:
        first = self.nodes[0]
        mounted = call(first.port, "POST", "sys/mounts/aws", {"type": "aws"}, token=self._token)
        if mounted.status not in (200, 204):
            raise RuntimeError(f"mounting aws/: {mounted.status} {mounted.body}")
        _issue.configure(first, endpoint, max_retries)

    def check_code(self) -> None:
        """Fail unless the nodes run `code`: the code with the rule creates the change-count
        sequence `<table>_changes`, the code without it does not."""
        if changes_sequence_exists(self.target) != self.code.has_rule:
            found = "is missing" if self.code.has_rule else "exists"
            raise RuntimeError(
                f"the {self.code.label} server did not run the code in {self.code.src}:"
                f" the sequence {self.target.table}_changes {found}"
            )

    def stop(self) -> None:
        for node in self.nodes:
            node.server.stop()
        self.nodes.clear()


def changes_sequence_exists(target: PostgreSQLTarget) -> bool:
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f'"{target.table}_changes"',)).fetchone()
    return row is not None and row[0] is not None


# ---- CPU of the server processes and of the PostgreSQL backends serving them ----------------


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    return inodes


def _local_ports_to(pid: int, remote_port: int) -> set[int]:
    """The local ports of `pid`'s TCP connections to `remote_port` (`/proc/<pid>/net/tcp*`)."""
    inodes = _socket_inodes(pid)
    ports: set[int] = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if inode in inodes and int(remote.rpartition(":")[2], 16) == remote_port:
                ports.add(int(local.rpartition(":")[2], 16))
    return ports


def pg_backends(dsn: str, pids: Sequence[int]) -> list[int]:
    """The PostgreSQL backend processes serving the connections of `pids` (matched by their
    client port in `pg_stat_activity`)."""
    port = int(conninfo_to_dict(dsn).get("port") or 5432)
    ports = sorted(set().union(*(_local_ports_to(pid, port) for pid in pids)))
    if not ports:
        return []
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", (ports,)
        ).fetchall()
    return [int(row[0]) for row in rows]


def _process_cpu(pid: int) -> float | None:
    try:
        return thread_cpu_seconds(pid)  # to the nanosecond: a backend is one thread
    except (FileNotFoundError, PermissionError):
        return None


@dataclass
class Usage:
    """What a span of work cost: wall time, the servers' CPU (their process trees) and the CPU
    of the PostgreSQL backends serving them (None when they are not visible in this machine's
    /proc)."""

    seconds: float
    cpu_s: float
    pg_cpu_s: float | None
    load_1m: float  # the machine's load average at the start


class Meter:
    """Measures `Usage` between `start` and `stop`. A backend that appears in between (the
    pool opened a connection) counts from zero; one that exits in between takes its time
    with it."""

    def __init__(self, dsn: str, pids: Sequence[int]) -> None:
        self.dsn = dsn
        self.pids = list(pids)
        self._pg0: dict[int, float | None] = {}
        self._cpu0 = 0.0
        self._t0 = 0.0
        self._load = 0.0

    def _pg(self) -> dict[int, float | None]:
        return {pid: _process_cpu(pid) for pid in pg_backends(self.dsn, self.pids)}

    def _trees(self) -> float:
        return sum(tree_cpu_seconds(pid) for pid in self.pids)

    def start(self) -> None:
        self._load = os.getloadavg()[0]
        self._pg0 = self._pg()
        self._cpu0 = self._trees()
        self._t0 = time.perf_counter()

    def stop(self) -> Usage:
        t1 = time.perf_counter()
        cpu1 = self._trees()
        pg1 = self._pg()
        visible = {pid: cpu for pid, cpu in pg1.items() if cpu is not None}
        pg_cpu = (
            sum(cpu - (self._pg0.get(pid) or 0.0) for pid, cpu in visible.items())
            if visible
            else None
        )
        return Usage(t1 - self._t0, cpu1 - self._cpu0, pg_cpu, self._load)


# ---- the coherence rule's cost on one node --------------------------------------------------


@dataclass
class Block:
    """A stretch of requests to one node, and what they cost."""

    usage: Usage
    requests: int
    times: list[float]  # each request's latency, when they were sent one at a time


@dataclass
class Run:
    """One phase of a round on one node: its blocks' requests, and what they cost together."""

    code: str  # "before" or "after"
    phase: str
    round: int
    clients: int
    blocks: int
    requests: int
    seconds: float
    cpu_s: float  # the server's process tree
    pg_cpu_s: float | None  # the PostgreSQL backends serving it
    load_1m: float  # when the phase's first block started
    latency_s: dict[str, float] = field(default_factory=dict)  # mean, p50, p99 (sequential)

    @classmethod
    def of(cls, code: str, phase: str, round_: int, clients: int, blocks: list[Block]) -> Run:
        pg = [b.usage.pg_cpu_s for b in blocks]
        times = [t for b in blocks for t in b.times]
        return cls(
            code=code, phase=phase, round=round_, clients=clients, blocks=len(blocks),
            requests=sum(b.requests for b in blocks),
            seconds=sum(b.usage.seconds for b in blocks),
            cpu_s=sum(b.usage.cpu_s for b in blocks),
            pg_cpu_s=None if None in pg else sum(v or 0.0 for v in pg),
            load_1m=blocks[0].usage.load_1m,
            latency_s=_latencies(times) if times else {},
        )  # fmt: skip

    @property
    def cpu_us(self) -> float:
        return self.cpu_s * 1e6 / self.requests

    @property
    def pg_cpu_us(self) -> float | None:
        return None if self.pg_cpu_s is None else self.pg_cpu_s * 1e6 / self.requests

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out |= {"cpu_us_per_request": self.cpu_us, "pg_cpu_us_per_request": self.pg_cpu_us}
        out["requests_per_s"] = self.rate
        return out


def _latencies(times: list[float]) -> dict[str, float]:
    return {"mean": statistics.mean(times), "p50": statistics.median(times), "p99": p99(times)}


def _sequential(
    node: Node, dsn: str, one: Callable[[BrokerClient], None], count: int, warmup: int
) -> Block:
    """`warmup` then `count` requests one at a time on one keep-alive connection, each timed."""
    client = BrokerClient(node)
    meter = Meter(dsn, [node.pid])
    try:
        for _ in range(warmup):
            one(client)
        times: list[float] = []
        meter.start()
        for _ in range(count):
            t0 = time.perf_counter()
            one(client)
            times.append(time.perf_counter() - t0)
        return Block(meter.stop(), count, times)
    finally:
        client.close()


def _lookup(client: BrokerClient) -> None:
    status, raw = client.get(LOOKUP_SELF)
    if status != 200:
        raise RuntimeError(f"lookup-self answered {status}: {raw[:300]!r}")


def _issue_one(client: BrokerClient) -> None:
    client.issue(KIND)


def lookups(node: Node, dsn: str, *, count: int, warmup: int) -> Block:
    """`auth/token/lookup-self` with the root token, one at a time."""
    return _sequential(node, dsn, _lookup, count, warmup)


def issues(node: Node, dsn: str, *, count: int, warmup: int) -> Block:
    """`KIND` credentials, one at a time."""
    return _sequential(node, dsn, _issue_one, count, warmup)


async def _lookup_loop(client: AsyncBrokerClient, count: int) -> None:
    for _ in range(count):
        status, raw = await client.get()
        if status != 200:
            raise RuntimeError(f"lookup-self answered {status}: {raw[:300]!r}")


async def _concurrent(node: Node, meter: Meter, clients: int, each: int, warmup: int) -> Usage:
    """`clients` keep-alive connections on this thread's event loop: `warmup` lookups each,
    then `each` lookups each, measured."""
    conns = await asyncio.gather(
        *(AsyncBrokerClient.open(node, LOOKUP_SELF) for _ in range(clients))
    )
    try:
        await asyncio.gather(*(_lookup_loop(c, warmup) for c in conns))
        meter.start()
        await asyncio.gather(*(_lookup_loop(c, each) for c in conns))
        return meter.stop()
    finally:
        for c in conns:
            c.close()


def concurrent_lookups(node: Node, dsn: str, *, count: int, clients: int, warmup: int) -> Block:
    """About `count` lookups in all, from `clients` clients at once (a closed loop)."""
    each = max(1, count // clients)
    usage = asyncio.run(_concurrent(node, Meter(dsn, [node.pid]), clients, each, warmup))
    return Block(usage, each * clients, [])
