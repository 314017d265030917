"""The pieces of the issuance benchmark: the AWS endpoints, the dev server, and the two ways
of getting a credential (through awsbroker over HTTP, or straight from AWS with boto3).

Every process that does work runs apart, each with its own interpreter lock: the AWS endpoint
(the fake, `tests/support/fake_aws.py`, or moto's server), the awsbroker server, and this
process, which drives both sides (HTTP clients of awsbroker, or boto3 itself for the direct
baseline).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import secrets
import socket
import string
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import botocore.config

from awsbroker.engines.aws.records.root_config import RootConfig
from awsbroker.engines.aws.transport.boto import client_config
from bench._common import (
    HOST,
    REPO,
    STARTUP_DEADLINE,
    call,
    cpu_seconds,
    free_port,
    group_cpu_seconds,
    server_command,
    server_thread_cpu,
    start_process,
    stop_process,
    tree_cpu_seconds,
)
from bench._revoke_direct import delete_user

if TYPE_CHECKING:
    import subprocess

    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

REGION = "us-east-1"
ACCESS_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
ROLE_ARN = "arn:aws:iam::123456789012:role/awsbroker-bench"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    },
    separators=(",", ":"),
)
TYPES = ("assumed_role", "federation_token", "iam_user")
ROLES = {t: "bench-" + t.replace("_", "-") for t in TYPES}
# The AWS calls each type makes, in the engine as in the baseline.
CALLS = {
    "assumed_role": ("AssumeRole",),
    "federation_token": ("GetFederationToken",),
    "iam_user": ("CreateUser", "PutUserPolicy", "CreateAccessKey"),
}
ROLE_BODIES: dict[str, dict[str, object]] = {
    "assumed_role": {"credential_type": "assumed_role", "role_arns": [ROLE_ARN]},
    "federation_token": {"credential_type": "federation_token", "policy_document": POLICY},
    "iam_user": {"credential_type": "iam_user", "policy_document": POLICY},
}
STS_TTL = 3600  # what the engine asks for when the role and the request name none
_ALPHABET = string.ascii_letters + string.digits
# No shared AWS configuration or instance metadata lookups, in the server or here.
AWS_ENV = {
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def _post(endpoint: str, path: str) -> bytes:
    """POST to `.../reset`, else GET."""
    host, _, port = endpoint.removeprefix("http://").rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST" if path.endswith("reset") else "GET", path)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{endpoint}{path} answered {response.status}: {data[:200]!r}")
    return data


class AWSEndpoint:
    """The fake AWS or moto's server, in a process of its own on loopback."""

    def __init__(self, kind: str, workdir: Path, latency: float) -> None:
        self.kind = kind
        self.latency = latency
        self.log_path = workdir / f"aws-{kind}.log"
        self.endpoint = ""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        port = free_port()
        if self.kind == "fake":
            args = ["-m", "tests.support.fake_aws", "--latency", str(self.latency)]
        else:
            args = ["-m", "moto.server", "-H", HOST, "-p", str(port)]
        if self.kind == "fake":
            args += ["--port", str(port)]
        self.proc = start_process([sys.executable, *args], log_path=self.log_path, cwd=REPO)
        self.endpoint = f"http://{HOST}:{port}"
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} AWS exited: {self.log_path.read_text()[-2000:]}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} AWS did not start")

    def calls(self) -> int | None:
        """AWS calls answered so far (the fake counts them; moto does not)."""
        if self.kind == "fake":
            return int(json.loads(_post(self.endpoint, "/fake-aws/calls"))["calls"])
        return None

    def reset(self) -> None:
        _post(self.endpoint, "/fake-aws/reset" if self.kind == "fake" else "/moto-api/reset")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


class Broker(Protocol):
    """What awsbroker's clients need of a server (a `DevServer`, a node of a cluster): where
    it listens, a token, and its process, for its CPU."""

    @property
    def port(self) -> int: ...

    @property
    def token(self) -> str: ...

    @property
    def pid(self) -> int: ...


def configure(server: Broker, endpoint: str, max_retries: int) -> None:
    """Point `aws/config/root` at `endpoint` and write a role per type (`ROLES`)."""

    def put(path: str, body: dict[str, object]) -> Any:
        return call(server.port, "PUT", path, body, token=server.token)

    answers = [
        put("aws/config/root", {
            "access_key": ACCESS_KEY[0], "secret_key": ACCESS_KEY[1], "region": REGION,
            "iam_endpoint": endpoint, "sts_endpoint": endpoint, "max_retries": max_retries,
        }),
        *(put(f"aws/roles/{ROLES[t]}", ROLE_BODIES[t]) for t in TYPES),
    ]  # fmt: skip
    bad = [a for a in answers if a.status not in (200, 204)]
    if bad:
        raise RuntimeError(f"configuring aws/ failed: {bad[0].status} {bad[0].body}")


class DevServer:
    """`awsbroker server --dev` on a free port, with `aws/` configured against `endpoint`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.token = "bench-root-" + _random(16)
        self.log_path = workdir / f"server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        args = [
            *server_command(), "--dev", "--dev-listen-address", f"{HOST}:{self.port}",
            "--dev-root-token-id", self.token, "--log-level", "warn",
        ]  # fmt: skip
        env = {**AWS_ENV, "AWSBROKER_TOKEN_FILE": str(self.workdir / "token")}
        self.proc = start_process(args, log_path=self.log_path, cwd=self.workdir, env=env)
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()[-4000:]}")
            try:
                if call(self.port, "GET", "sys/health", timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the dev server did not become ready")

    def configure(self, endpoint: str, max_retries: int) -> None:
        configure(self, endpoint, max_retries)

    def call(self, method: str, path: str, body: dict[str, object] | None = None) -> Any:
        return call(self.port, method, path, body, token=self.token)

    def revoke(self, lease_ids: list[str], workers: int = 16) -> list[str]:
        """Revoke leases (the server makes the AWS calls); the failures' messages."""

        def one(lease_id: str) -> str:
            answer = self.call("PUT", "sys/leases/revoke", {"lease_id": lease_id})
            return "" if answer.status in (200, 204) else f"{lease_id}: {answer.body}"

        with ThreadPoolExecutor(workers) as pool:
            return [m for m in pool.map(one, lease_ids) if m]

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def creds_path(kind: str) -> str:
    """The path a credential of type `kind` is read from (its role's)."""
    return f"aws/creds/{ROLES[kind]}"


class AsyncBrokerClient:
    """One client of awsbroker in the load generator: a keep-alive HTTP/1.1 connection on an
    asyncio stream, sending the same GET as `BrokerClient` and checking the same answer, for a
    fraction of the CPU of a thread each with `http.client` (bench/README.md). It reads one
    `path` (`creds_path(kind)` to issue), with the server's token."""

    def __init__(self, server: Broker, path: str) -> None:
        self._server = server
        self._request = (
            f"GET /v1/{path} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n"
            f"X-Vault-Token: {server.token}\r\n\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, server: Broker, path: str) -> AsyncBrokerClient:
        client = cls(server, path)
        await client.reopen()
        return client

    async def reopen(self) -> None:
        self.close()
        self._reader, self._writer = await asyncio.open_connection(HOST, self._server.port)

    async def get(self) -> tuple[int, bytes]:
        """Send the GET: the answer's status and body."""
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(self._request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self._reader.readexactly(length)

    async def issue(self) -> str:
        """The lease ID. Raises unless a credential came back."""
        return lease_id(*await self.get())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def lease_id(status: int, raw: bytes) -> str:
    """The lease ID of an answer to `aws/creds/<role>`; raises unless a credential came back."""
    if status != 200:
        raise RuntimeError(f"awsbroker answered {status}: {raw[:300]!r}")
    body = json.loads(raw)
    if not body["data"]["access_key"]:
        raise RuntimeError("no access key in the answer")
    return str(body["lease_id"])


class BrokerClient:
    """One client of awsbroker: a keep-alive HTTP connection, as an SDK keeps one."""

    def __init__(self, server: Broker) -> None:
        self._server = server
        self._conn = http.client.HTTPConnection(HOST, server.port, timeout=120)
        self._headers = {"X-Vault-Token": server.token}

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `/v1/<path>` with the server's token: the answer's status and body."""
        try:
            self._conn.request("GET", f"/v1/{path}", headers=self._headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()  # reconnects at the next request
            raise
        return response.status, raw

    def issue(self, kind: str) -> str:
        """Read `aws/creds/<role>`; the lease ID. Raises unless a credential came back."""
        return lease_id(*self.get(creds_path(kind)))

    def close(self) -> None:
        self._conn.close()


class DirectClient:
    """The baseline: the same AWS calls as the engine makes for each type, with boto3 clients
    built as the engine builds its own (`transport/boto.py`), shared by every thread as
    the engine's cached clients are, with a connection pool as large as the thread count."""

    def __init__(self, endpoint: str, max_retries: int, pool: int) -> None:
        root = RootConfig(
            access_key=ACCESS_KEY[0], secret_key=ACCESS_KEY[1], region=REGION,
            iam_endpoint=endpoint, sts_endpoint=endpoint, max_retries=max_retries,
        )  # fmt: skip
        config = client_config(root.max_retries).merge(
            botocore.config.Config(max_pool_connections=max(pool, 10))
        )
        session = boto3.session.Session(
            aws_access_key_id=root.access_key, aws_secret_access_key=root.secret_key
        )
        self.iam: IAMClient = session.client(
            "iam", region_name=REGION, endpoint_url=endpoint, config=config
        )
        self.sts: STSClient = session.client(
            "sts", region_name=REGION, endpoint_url=endpoint, config=config
        )

    def issue(self, kind: str) -> str:
        """Make the type's AWS calls; the IAM user's name for iam_user, else ""."""
        if kind == "iam_user":
            name = f"vault-root-{ROLES[kind]}-{int(time.time())}-{_random(20)}"[:64]
            self.iam.create_user(UserName=name, Path="/")
            self.iam.put_user_policy(UserName=name, PolicyName=ROLES[kind], PolicyDocument=POLICY)
            key = self.iam.create_access_key(UserName=name)["AccessKey"]
            assert key["AccessKeyId"]
            return name
        if kind == "assumed_role":
            session = f"vault-root-{ROLES[kind]}-{int(time.time())}-{_random(20)}"[:64]
            creds = self.sts.assume_role(
                RoleArn=ROLE_ARN, RoleSessionName=session, DurationSeconds=STS_TTL
            )["Credentials"]
        else:
            name = f"vault-{int(time.time())}-{_random(20)}"[:32]
            creds = self.sts.get_federation_token(
                Name=name, DurationSeconds=STS_TTL, Policy=POLICY
            )["Credentials"]
        assert creds["AccessKeyId"]
        return ""

    def delete_users(self, names: list[str], workers: int = 16) -> list[str]:
        """Delete IAM users with the 12 calls of the engine's revocation; the failures."""

        def one(name: str) -> str:
            try:
                delete_user(self.iam, name)
            except Exception as exc:
                return f"{name}: {exc}"
            return ""

        with ThreadPoolExecutor(workers) as pool:
            return [m for m in pool.map(one, names) if m]

    def close(self) -> None:
        self.iam.close()
        self.sts.close()


# ---- measurements ---------------------------------------------------------------------------


@dataclass
class LatencyResult:
    backend: str
    kind: str
    broker_s: list[float]
    direct_s: list[float]
    broker_calls: int | None  # AWS calls the endpoint saw during the timed requests
    direct_calls: int | None
    load_1m: float
    cleanup_failures: list[str]


def latency(
    aws: AWSEndpoint,
    server: DevServer,
    kind: str,
    samples: int,
    *,
    max_retries: int,
    warmup: int = 3,
) -> LatencyResult:
    """`samples` issuances one at a time on each side, alternating (broker first on even
    samples, direct first on odd), so that whatever else loads the machine falls on both."""
    broker = BrokerClient(server)
    direct = DirectClient(aws.endpoint, max_retries, 1)
    times: dict[str, list[float]] = {"broker": [], "direct": []}
    calls: dict[str, int | None] = {"broker": 0, "direct": 0}
    leases: list[str] = []
    users: list[str] = []
    load = os.getloadavg()[0]

    def one(side: str, timed: bool) -> None:
        before = aws.calls() if timed else None
        t0 = time.perf_counter()
        if side == "broker":
            leases.append(broker.issue(kind))
        else:
            users.append(direct.issue(kind))
        elapsed = time.perf_counter() - t0
        if timed:
            times[side].append(elapsed)
            after = aws.calls()
            if before is not None and after is not None:
                calls[side] = (calls[side] or 0) + after - before
            else:
                calls[side] = None

    try:
        for _ in range(warmup):
            one("broker", False)
            one("direct", False)
        for i in range(samples):
            order = ("broker", "direct") if i % 2 == 0 else ("direct", "broker")
            for side in order:
                one(side, True)
    finally:
        broker.close()
    failures: list[str] = []
    if kind == "iam_user":  # outside the timed part, both sides remove what they made
        failures += server.revoke(leases)
        failures += direct.delete_users([u for u in users if u])
    direct.close()
    return LatencyResult(
        aws.kind, kind, times["broker"], times["direct"], calls["broker"], calls["direct"],
        load, failures,
    )  # fmt: skip


@dataclass
class ThroughputResult:
    backend: str
    kind: str
    side: str  # "awsbroker" or "direct"
    clients: int
    seconds: float  # the measured window
    issued: int  # completed in the window
    total_issued: int  # completed from the start to the end of the phase
    errors: int
    first_error: str
    # The server's CPU (awsbroker), or this process's (direct), in the window.
    cpu_s: float
    aws_cpu_s: float  # the AWS endpoint's CPU in the window
    aws_calls: int | None  # over the whole phase
    load_1m: float
    round: int = 1
    # awsbroker: the load generator's CPU (this process) in the window; direct: 0 (its CPU is
    # `cpu_s`, boto3 and the threads together).
    client_cpu_s: float = 0.0
    # awsbroker: the server's CPU in the window by thread group (`_common.THREAD_GROUPS`,
    # summed over the servers), from the threads' schedstat; direct: empty.
    thread_cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.issued / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_credential(self) -> float:
        return self.cpu_s * 1000 / self.issued if self.issued else 0.0

    @property
    def aws_calls_per_credential(self) -> float | None:
        if self.aws_calls is None or not self.total_issued:
            return None
        return self.aws_calls / self.total_issued


WINDOW_CAP = 6.0  # a throughput window lasts at most this many times its duration
POLL = 0.02


def _wait(at_least: float, at_most: float, ready: Callable[[], bool]) -> None:
    """Return once `at_least` seconds have passed and `ready()`, or after `at_most` seconds."""
    begun = time.perf_counter()
    while time.perf_counter() - begun < at_most:
        if time.perf_counter() - begun >= at_least and ready():
            return
        time.sleep(POLL)


@dataclass
class _Tally:
    """What the clients of one throughput phase share with the phase's timer."""

    clients: int
    threads: int  # the threads that meet the timer at `start`
    stop: threading.Event = field(default_factory=threading.Event)
    done: list[list[float]] = field(default_factory=list)  # completion times, per client
    answered: list[int] = field(default_factory=list)  # credentials and errors, per client
    errors: list[str] = field(default_factory=list)
    start: threading.Barrier = field(init=False)

    def __post_init__(self) -> None:
        self.done = [[] for _ in range(self.clients)]
        self.answered = [0] * self.clients
        self.start = threading.Barrier(self.threads + 1)

    def issued(self) -> int:
        return sum(len(mine) for mine in self.done)

    def record(self, i: int, error: Exception | None) -> None:
        if error is None:
            self.done[i].append(time.perf_counter())
        else:
            self.errors.append(f"{type(error).__name__}: {error}"[:300])
        self.answered[i] += 1


def _direct_threads(tally: _Tally, direct: DirectClient, kind: str) -> list[threading.Thread]:
    """The baseline: a thread per client, each making the AWS calls with boto3."""

    def worker(i: int) -> None:
        tally.start.wait()
        while not tally.stop.is_set():
            try:
                direct.issue(kind)
            except Exception as exc:
                tally.record(i, exc)
            else:
                tally.record(i, None)

    return [
        threading.Thread(target=worker, args=(i,), name=f"bench-{i}", daemon=True)
        for i in range(tally.clients)
    ]


def _broker_clients(tally: _Tally, servers: Sequence[Broker], kind: str) -> list[threading.Thread]:
    """awsbroker's clients: coroutines on one thread's event loop, so that the load generator
    takes as little of the machine's CPU from the server as it can. Client i talks to
    `servers[i % len(servers)]`."""

    async def client(i: int) -> None:
        broker = await AsyncBrokerClient.open(servers[i % len(servers)], creds_path(kind))
        try:
            while not tally.stop.is_set():
                try:
                    await broker.issue()
                except Exception as exc:
                    tally.record(i, exc)
                    await broker.reopen()
                else:
                    tally.record(i, None)
        finally:
            broker.close()

    async def main() -> None:
        await asyncio.to_thread(tally.start.wait)
        await asyncio.gather(*(client(i) for i in range(tally.clients)))

    return [threading.Thread(target=asyncio.run, args=(main(),), name="bench-clients", daemon=True)]


def throughput(
    aws: AWSEndpoint,
    server: Broker | Sequence[Broker],
    kind: str,
    side: str,
    clients: int,
    *,
    warmup: float,
    duration: float,
    max_retries: int,
    cycles: float = 2.0,
    round_: int = 1,
) -> ThroughputResult:
    """`clients` clients issuing back to back (a closed loop); what completes in the measured
    window counts. Direct: a thread each, with boto3. awsbroker: a coroutine each, on one thread.

    The first burst (every client at once, connections opening) is not steady state: the
    window opens once `warmup` seconds have passed and every client has had an answer. It
    closes once `duration` seconds have passed and `cycles` x `clients` credentials were issued
    in it (with 256 clients and the server's CPU the limit, one round of every client can take
    seconds; a window shorter than a few rounds measures the rounds' timing, not the rate), or
    after `WINDOW_CAP` x `duration` seconds at the most.

    `server` may be several servers (the nodes of one cluster): awsbroker's clients are then
    spread over them evenly, and `cpu_s` is the sum over them.
    """
    servers = list(server) if isinstance(server, Sequence) else [server]
    direct = DirectClient(aws.endpoint, max_retries, clients) if side == "direct" else None
    if direct is not None:
        tally = _Tally(clients, threads=clients)
        threads = _direct_threads(tally, direct, kind)
    else:
        tally = _Tally(clients, threads=1)
        threads = _broker_clients(tally, servers, kind)
    for t in threads:
        t.start()
    calls0 = aws.calls()
    load = os.getloadavg()[0]

    def cpu() -> float:
        """The side's CPU."""
        if direct is not None:
            return time.process_time()
        return sum(tree_cpu_seconds(s.pid) for s in servers)

    def by_thread() -> list[dict[int, tuple[str, int]]]:
        """The servers' threads (awsbroker's side), for the CPU by thread group."""
        return [] if direct is not None else [server_thread_cpu(s.pid) for s in servers]

    tally.start.wait()
    _wait(warmup, max(warmup, duration * WINDOW_CAP), lambda: min(tally.answered) > 0)
    t0, cpu0, aws0, here0, threads0 = (
        time.perf_counter(), cpu(), cpu_seconds(aws.pid), time.process_time(), by_thread()
    )  # fmt: skip
    before = tally.issued()
    _wait(duration, duration * WINDOW_CAP, lambda: tally.issued() - before >= cycles * clients)
    t1, cpu1, aws1, here1, threads1 = (
        time.perf_counter(), cpu(), cpu_seconds(aws.pid), time.process_time(), by_thread()
    )  # fmt: skip
    thread_cpu: dict[str, float] = {}
    for a, b in zip(threads0, threads1, strict=True):
        for group, seconds in group_cpu_seconds(a, b).items():
            thread_cpu[group] = thread_cpu.get(group, 0.0) + seconds
    tally.stop.set()
    for t in threads:
        t.join()
    calls1 = aws.calls()
    if direct is not None:
        direct.close()
    all_done = [t for mine in tally.done for t in mine]
    errors = tally.errors
    return ThroughputResult(
        backend=aws.kind, kind=kind, side=side, clients=clients, seconds=t1 - t0,
        issued=sum(1 for t in all_done if t0 <= t < t1), total_issued=len(all_done),
        errors=len(errors), first_error=errors[0] if errors else "", cpu_s=cpu1 - cpu0,
        aws_cpu_s=aws1 - aws0, client_cpu_s=0.0 if direct is not None else here1 - here0,
        aws_calls=None if calls0 is None or calls1 is None else calls1 - calls0,
        load_1m=load, round=round_, thread_cpu_s=thread_cpu,
    )  # fmt: skip
