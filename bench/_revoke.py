"""Benchmark 2: how fast the expiry worker revokes a backlog of due `iam_user` leases against
an AWS endpoint that adds latency to every call, next to the same calls made directly.

Moto runs in this process behind `AWSProxy(latency=...)`. For each set of users, the users are
created straight in moto (no latency) as the engine creates them: CreateUser, PutUserPolicy
(the role's inline policy, named after the role), CreateAccessKey.

* awsbroker: a real server on a fresh store, unsealed, `aws/config/root` pointing IAM and STS
  at the proxy. M leases already due (expired one to two minutes ago), bulk-written like
  benchmark 1's, are committed in one transaction while the server runs; the clock starts at
  that commit. The worker (a tick every second, then ticks back to back while there is a
  backlog; batches of `revocation { batch }` leases revoked by `revocation { workers }`
  threads, the server's defaults) revokes them; the clock stops when
  `LIST sys/leases/lookup/aws/creds/bench/` is empty. Also reported: the active span, from the
  first IAM call the proxy sees to the M-th DeleteUser, which leaves out the wait for the
  next tick.
* direct: `bench._revoke_direct` in its own process, the same calls per user with boto3
  through the same proxy, sequentially (on a subset: the per-user time is what counts) and
  with the worker's concurrency.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from tests.support.aws_proxy import AWSProxy
from tests.support.moto_server import REGION, MotoServer, bootstrap_admin

from awsbroker.server.config import RevocationSettings
from bench import _fill
from bench._common import REPO, ServerProcess, call, tree_cpu_seconds
from bench._stores import Target


@dataclass
class Phase:
    """One way of revoking `users` IAM users, and what the proxy saw."""

    name: str
    users: int
    workers: int
    seconds: float
    active_seconds: float
    calls: int
    cpu_seconds: float  # of the process making the calls: the server, or the direct client
    round: int = 1
    load_1m: float = 0.0  # the machine's load average when the phase started
    calls_by_status: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def cpu_ms_per_user(self) -> float:
        return self.cpu_seconds * 1000 / self.users if self.users else 0.0

    @property
    def rate(self) -> float:
        return self.users / self.seconds if self.seconds > 0 else 0.0

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.active_seconds if self.active_seconds > 0 else 0.0

    @property
    def active_rate(self) -> float:
        return self.users / self.active_seconds if self.active_seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["users_per_s"] = self.rate
        out["active_users_per_s"] = self.active_rate
        out["calls_per_user"] = self.calls / self.users if self.users else 0.0
        out["calls_per_s"] = self.calls_per_s
        out["cpu_ms_per_user"] = self.cpu_ms_per_user
        return out


@dataclass
class AWSSide:
    """Moto behind a latency-adding proxy, and the admin key the broker and baseline sign with."""

    moto: MotoServer
    proxy: AWSProxy
    access_key: str
    secret_key: str
    latency: float

    @classmethod
    def start(cls, latency: float) -> AWSSide:
        moto = MotoServer()
        moto.start()
        try:
            access_key, secret_key = bootstrap_admin(moto.endpoint)
            proxy = AWSProxy(moto.endpoint, latency=latency)
            proxy.start()
        except BaseException:
            moto.stop()
            raise
        return cls(moto, proxy, access_key, secret_key, latency)

    def stop(self) -> None:
        try:
            self.proxy.stop()
        finally:
            self.moto.stop()

    def iam(self, endpoint: str) -> Any:
        return boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def create_users(self, names: list[str]) -> None:
        """As `iam_user.create` does (without a permissions boundary, groups or tags), straight
        to moto, several at a time."""
        iam = self.iam(self.moto.endpoint)
        try:

            def one(name: str) -> None:
                iam.create_user(UserName=name, Path="/")
                iam.put_user_policy(
                    UserName=name, PolicyName=_fill.ROLE, PolicyDocument=_fill.POLICY_DOCUMENT
                )
                iam.create_access_key(UserName=name)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(one, names))
        finally:
            iam.close()

    def existing(self, names: list[str]) -> int:
        """How many of `names` moto still has."""
        iam = self.iam(self.moto.endpoint)
        try:
            users: set[str] = set()
            for page in iam.get_paginator("list_users").paginate():
                users.update(u["UserName"] for u in page["Users"])
        finally:
            iam.close()
        return len(users.intersection(names))

    def calls_by_status(self) -> tuple[int, dict[str, int]]:
        calls = self.proxy.calls()
        counted = Counter(f"{c.action} {c.status}" for c in calls if c.status != 200)
        counted["any 200"] = sum(1 for c in calls if c.status == 200)
        return len(calls), dict(sorted(counted.items()))


def direct(
    aws: AWSSide, names: list[str], workers: int, max_retries: int, round_: int = 1
) -> Phase:
    """The baseline: `bench._revoke_direct` in its own process."""
    load = os.getloadavg()[0]
    aws.proxy.clear()
    spec = {
        "endpoint": aws.proxy.endpoint,
        "access_key": aws.access_key,
        "secret_key": aws.secret_key,
        "region": REGION,
        "max_retries": max_retries,
        "workers": workers,
        "users": names,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench._revoke_direct"],
        input=json.dumps(spec).encode(),
        capture_output=True,
        cwd=REPO,
        check=True,
        timeout=3600,
    )
    out = json.loads(done.stdout)
    calls, by_status = aws.calls_by_status()
    label = "direct boto3, sequential" if workers == 1 else f"direct boto3, {workers} threads"
    return Phase(
        name=label,
        users=len(names),
        workers=workers,
        seconds=float(out["seconds"]),
        active_seconds=float(out["seconds"]),
        calls=calls,
        cpu_seconds=float(out["cpu_seconds"]),
        round=round_,
        load_1m=load,
        calls_by_status=by_status,
        failed=list(out["failed"]),
    )


def _due_backlog(make_target: Callable[[str], Target], count: int) -> Backlog:
    """A fresh store, prepared, and `count` due leases encrypted for it (not yet written)."""
    target = make_target("revoke")
    try:
        prepared = _fill.prepare(target)
        try:
            factory = _fill.LeaseFactory(prepared)
            now = time.time()
            specs = [
                factory.spec(now, lambda rng: -rng.uniform(60, 120), issued_ago=(3600, 7200))
                for _ in range(count)
            ]
            return Backlog(target, prepared, factory.batch(specs))
        finally:
            prepared.close()
    except BaseException:
        target.cleanup()
        raise


@dataclass
class Backlog:
    target: Target
    prepared: _fill.Prepared
    batch: _fill.Batch

    @property
    def usernames(self) -> list[str]:
        return [s.username for s in self.batch.specs]


def _configure(server: ServerProcess, aws: AWSSide, token: str, max_retries: int) -> None:
    config = {
        "access_key": aws.access_key,
        "secret_key": aws.secret_key,
        "region": REGION,
        "iam_endpoint": aws.proxy.endpoint,
        "sts_endpoint": aws.proxy.endpoint,
        "max_retries": max_retries,
    }
    answer = call(server.port, "PUT", f"{_fill.MOUNT}config/root", config, token=token)
    if answer.status not in (200, 204):
        raise RuntimeError(f"config/root: {answer.status} {answer.body}\n{server.log()}")


def _wait_for_deletes(aws: AWSSide, count: int, deadline: float) -> tuple[float, float]:
    """Watch the proxy until `count` DeleteUser calls succeeded: (first call, last delete).

    Polls lightly: moto and the proxy share this process's GIL, and are the bottleneck.
    """
    first_call = 0.0
    while time.perf_counter() < deadline:
        if not first_call and aws.proxy.calls():
            first_call = time.perf_counter()
        deleted = aws.proxy.calls("DeleteUser")
        if sum(1 for c in deleted if c.status == 200) >= count:
            return first_call, time.perf_counter()
        time.sleep(0.05)
    return first_call, 0.0


def _wait_for_no_leases(server: ServerProcess, token: str, count: int, deadline: float) -> float:
    """Poll the lease listing until it is empty (404); returns when."""
    listing = f"sys/leases/lookup/{_fill.LEASE_PREFIX}"
    while True:
        answer = call(server.port, "LIST", listing, token=token)
        if answer.status == 404:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            left = len(answer.body["data"]["keys"]) if answer.status == 200 else "?"
            raise RuntimeError(f"{left} of {count} leases left at the deadline:\n{server.log()}")
        time.sleep(0.05)


def broker(
    aws: AWSSide,
    make_target: Callable[[str], Target],
    workdir: Path,
    *,
    count: int,
    max_retries: int,
    round_: int = 1,
    log: Callable[[str], None],
) -> Phase:
    backlog = _due_backlog(make_target, count)
    target, token = backlog.target, backlog.prepared.root_token
    server: ServerProcess | None = None
    try:
        aws.create_users(backlog.usernames)
        server = ServerProcess(workdir, target.kind, target.server_storage())
        server.start()
        server.wait_for_health((503,))
        server.unseal(backlog.prepared.unseal_key_hex)
        server.wait_for_health((200,))
        _configure(server, aws, token, max_retries)
        aws.proxy.clear()
        load = os.getloadavg()[0]
        cpu0 = tree_cpu_seconds(server.pid)
        # The clock starts when the backlog is committed, in one transaction.
        target.insert(backlog.batch.kv, backlog.batch.expiry)
        committed = time.perf_counter()
        deadline = committed + 60 + count * 15 * aws.latency
        first_call, last_delete = _wait_for_deletes(aws, count, deadline)
        emptied = _wait_for_no_leases(server, token, count, deadline)
        cpu = tree_cpu_seconds(server.pid) - cpu0
        calls_seen, by_status = aws.calls_by_status()
        left_in_aws = aws.existing(backlog.usernames)
        log(
            f"  round {round_}, awsbroker ({target.kind}): {count} leases revoked in"
            f" {emptied - committed:.2f}s (load {load:.1f})"
        )
        return Phase(
            name=f"awsbroker ({target.kind}), worker",
            users=count,
            workers=RevocationSettings().workers,
            seconds=emptied - committed,
            active_seconds=(last_delete or emptied) - (first_call or committed),
            calls=calls_seen,
            cpu_seconds=cpu,
            round=round_,
            load_1m=load,
            calls_by_status=by_status,
            failed=[f"{left_in_aws} users still in moto"] if left_in_aws else [],
        )
    finally:
        if server is not None:
            server.stop()
        target.cleanup()


def run_direct(
    aws: AWSSide,
    users: int,
    workers: int,
    *,
    max_retries: int,
    round_: int,
    log: Callable[[str], None],
) -> Phase:
    """The direct baseline on `users` fresh users with `workers` threads."""
    names = [f"bench-direct-{workers}-{round_}-{i:05d}" for i in range(users)]
    aws.create_users(names)
    phase = direct(aws, names, workers, max_retries, round_)
    left = aws.existing(names)
    if left:
        phase.failed.append(f"{left} users still in moto")
    log(
        f"  round {round_}, {phase.name}: {users} users in {phase.seconds:.2f}s"
        f" (load {phase.load_1m:.1f})"
    )
    return phase
