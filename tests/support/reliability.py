"""Helpers of the reliability tests: AWS played by moto behind the recording proxy, a broker
server process with the `aws/` mount configured against it, concurrent issuance, and bounded
polling.

The broker runs in a subprocess and reaches moto (a thread of this process) and the proxy over
loopback HTTP. Moto's state is process-global: `AWSWorld.start` wipes it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from mypy_boto3_iam import IAMClient
from tests.support.aws_proxy import AWSProxy, Call
from tests.support.moto_server import ADMIN_USER, REGION, MotoServer, bootstrap_admin, moto_client
from tests.support.server import InitResult, ServerProcess, hcl_string

MOUNT = "aws"
ROLE = "u"
LEASE_PREFIX = f"{MOUNT}/creds/{ROLE}/"
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    separators=(",", ":"),
)
# What revoking an `iam_user` lease calls, in order (the best-effort extras included).
REVOKE_ACTIONS = (
    "ListGroupsForUser",
    "ListUserPolicies",
    "ListAttachedUserPolicies",
    "ListAccessKeys",
    "DeleteAccessKey",
    "DetachUserPolicy",
    "DeleteUserPolicy",
    "RemoveUserFromGroup",
    "DeleteLoginProfile",
    "ListMFADevices",
    "ListSigningCertificates",
    "ListSSHPublicKeys",
    "ListServiceSpecificCredentials",
    "DeleteUser",
)
T = TypeVar("T")


class Timeout(AssertionError):
    """A polled condition did not hold by its deadline."""


def wait_for(
    condition: Callable[[], T], *, timeout: float, interval: float = 0.25, what: str = ""
) -> T:
    """Call `condition` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Timeout(f"not true after {timeout}s: {what or condition}; last: {value!r}")
        time.sleep(interval)


def wait_steady(
    measure: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    quiet_for: float,
    timeout: float,
    interval: float = 0.5,
    what: str = "",
) -> T:
    """Poll `measure` until its value is accepted and has not changed for `quiet_for` seconds,
    or fail after `timeout`. For work that shows no end of its own (a rollback pass)."""
    value, since = measure(), time.monotonic()

    def steady() -> bool:
        nonlocal value, since
        latest = measure()
        if latest != value:
            value, since = latest, time.monotonic()
        return accept(value) and time.monotonic() - since >= quiet_for

    try:
        wait_for(steady, timeout=timeout, interval=interval, what=what)
    except Timeout as exc:
        raise Timeout(f"{exc} (last measured {value!r})") from None
    return value


ROLLBACK_DEADLINE = 60.0
QUIET_FOR = 2.0  # the user count must hold this long to call the rollback done


def wait_rolled_back(aws: AWSWorld, keep: int, what: str) -> int:
    """Wait until the periodic rollback has left at most `keep` IAM users in moto, the count
    holding for `QUIET_FOR` seconds (a rollback pass shows no end of its own)."""
    return wait_steady(
        lambda: len(aws.users()),
        lambda count: count <= keep,
        quiet_for=QUIET_FOR,
        timeout=ROLLBACK_DEADLINE,
        what=what,
    )


# ---- AWS: moto behind the proxy ---------------------------------------------------------------


@dataclass
class AWSWorld:
    """A fresh moto (auth off: the broker signs with the admin key anyway) and the recording,
    fault-injecting proxy the broker is pointed at. The test's own checks go straight to moto."""

    moto: MotoServer = field(default_factory=MotoServer)
    proxy: AWSProxy | None = None
    access_key: str = ""
    secret_key: str = ""
    _iam: IAMClient | None = None

    def start(self) -> None:
        self.moto.start()
        self.moto.disable_auth()  # moto's switch is process-global: whatever ran before
        self.moto.reset()
        self.access_key, self.secret_key = bootstrap_admin(self.moto.endpoint)
        self.proxy = AWSProxy(self.moto.endpoint)
        self.proxy.start()
        self.clear_faults()

    def clear_faults(self) -> None:
        """Remove injected faults but the stand-in for what moto lacks.

        Moto does not implement ListServiceSpecificCredentials: it answers an HTML 500, which
        boto3 retries with backoff (up to 20 s a try with `max_retries` 10). The proxy answers
        it with NoSuchEntity instead, which the engine takes as "none to delete", as it would
        AWS's empty list.
        """
        self.recorder.clear_faults()
        self.recorder.inject(
            "ListServiceSpecificCredentials", 404, "NoSuchEntity", "not implemented by moto"
        )

    def stop(self) -> None:
        if self._iam is not None:
            self._iam.close()
            self._iam = None
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        self.moto.stop()

    @property
    def recorder(self) -> AWSProxy:
        assert self.proxy is not None, "AWSWorld is not started"
        return self.proxy

    @property
    def iam(self) -> IAMClient:
        """An IAM client straight to moto (not recorded by the proxy)."""
        if self._iam is None:
            self._iam = moto_client(self.moto.endpoint, "iam", self.access_key, self.secret_key)
        return self._iam

    def users(self) -> set[str]:
        """Every IAM user in moto but the admin."""
        names: set[str] = set()
        for page in self.iam.get_paginator("list_users").paginate():
            names.update(u["UserName"] for u in page["Users"])
        return {n for n in names if not n.startswith(ADMIN_USER)}

    def key_owners(self) -> dict[str, str]:
        """Access key id -> user name, over every user but the admin."""
        owners: dict[str, str] = {}
        for user in self.users():
            for key in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
                owners[key["AccessKeyId"]] = user
        return owners

    def calls(self, action: str | None = None) -> list[Call]:
        return self.recorder.calls(action)


def per_user(calls: Iterable[Call], *, ok: bool | None = None) -> Counter[str]:
    """How many of `calls` name each user (`ok`: only 2xx answers, or only the others)."""
    counts: Counter[str] = Counter()
    for call in calls:
        if ok is not None and (200 <= call.status < 300) != ok:
            continue
        counts[call.param("UserName") or ""] += 1
    return counts


# ---- the broker ---------------------------------------------------------------------------------


def add_revocation_block(server: ServerProcess, **settings: str | int) -> None:
    """Append a `revocation { ... }` block (the expiry worker's attempts and backoff) to the
    configuration file of a server not started yet."""
    assert not server.running
    config = Path(server.args[server.args.index("--config") + 1])
    lines = ["revocation {"]
    lines += [f"  {k} = {v if isinstance(v, int) else hcl_string(v)}" for k, v in settings.items()]
    config.write_text(config.read_text() + "\n".join([*lines, "}", ""]))


@dataclass
class Broker:
    """A broker server process and its root token."""

    server: ServerProcess
    init: InitResult

    @property
    def token(self) -> str:
        return self.init.root_token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.server.request(method, path, token=self.token, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request that must succeed; its JSON body ({} for 204)."""
        response = self.call(method, path, **kwargs)
        assert response.status_code in (200, 204), (method, path, response.text)
        return response.json() if response.status_code == 200 else {}

    def unseal(self) -> None:
        self.server.unseal(self.init.keys[:1])

    def configure_aws(
        self, world: AWSWorld, *, max_retries: int, lease: str = "", lease_max: str = ""
    ) -> None:
        """Mount `aws/`, point it at the proxy with the admin key, and add the `iam_user` role
        `u` (an inline allow-all policy)."""
        self.ok("POST", f"sys/mounts/{MOUNT}", json={"type": "aws"})
        self.set_max_retries(world, max_retries)
        if lease:
            self.set_lease(lease, lease_max or lease)
        self.ok(
            "POST",
            f"{MOUNT}/roles/{ROLE}",
            json={"credential_type": "iam_user", "policy_document": ALLOW_ALL},
        )

    def set_lease(self, lease: str, lease_max: str) -> None:
        self.ok("POST", f"{MOUNT}/config/lease", json={"lease": lease, "lease_max": lease_max})

    def set_max_retries(self, world: AWSWorld, max_retries: int) -> None:
        """Write `config/root`: the admin key, the proxy as IAM and STS endpoint, and
        `max_retries` (rewriting it makes the engine rebuild its clients)."""
        self.ok(
            "POST",
            f"{MOUNT}/config/root",
            json={
                "access_key": world.access_key,
                "secret_key": world.secret_key,
                "region": REGION,
                "iam_endpoint": world.recorder.endpoint,
                "sts_endpoint": world.recorder.endpoint,
                "max_retries": max_retries,
            },
        )

    def leases(self, prefix: str = LEASE_PREFIX) -> list[str]:
        """Lease ids under `prefix` (one level: the `creds/<role>/` directory)."""
        response = self.call("LIST", f"sys/leases/lookup/{prefix}")
        if response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        return [prefix + key for key in response.json()["data"]["keys"]]

    def lookup(self, lease_id: str) -> dict[str, Any] | None:
        response = self.call("PUT", "sys/leases/lookup", json={"lease_id": lease_id})
        if response.status_code == 400 and "invalid lease" in response.text:
            return None
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def irrevocable_count(self) -> int:
        body = self.ok("GET", "sys/leases/count", params={"type": "irrevocable"})
        count: int = body["data"]["lease_count"]
        return count


# ---- concurrent issuance --------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    lease_id: str
    access_key: str


class Workers:
    """`count` daemon threads running `target(n)`, which should return once `stopping` is set."""

    def __init__(self, name: str, count: int, target: Callable[[int], None]) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._threads = [
            threading.Thread(target=target, args=(n,), name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float, what: str) -> None:
        """Wait for every thread; fail naming those still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"{what} still running: {alive}"


@dataclass
class Issuance:
    """Threads that request `aws/creds/u` in a loop and record what came back."""

    server: ServerProcess
    token: str
    threads: int
    per_thread: int
    timeout: float = 60.0
    issued: list[Issued] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: Workers = field(init=False)

    def __post_init__(self) -> None:
        self._workers = Workers("issue", self.threads, self._run)

    def start(self) -> None:
        self._workers.start()

    def stop(self) -> None:
        """Ask the threads to stop after their current request."""
        self._workers.stopping.set()

    def join(self, timeout: float) -> None:
        self._workers.join(timeout, "issuing threads")

    def count(self) -> int:
        with self._lock:
            return len(self.issued)

    def _run(self, n: int) -> None:
        url = self.server.v1(f"{MOUNT}/creds/{ROLE}")
        with requests.Session() as session:
            for _ in range(self.per_thread):
                if self._workers.stopping.is_set():
                    return
                try:
                    response = session.get(
                        url, headers={"X-Vault-Token": self.token}, timeout=self.timeout
                    )
                except requests.RequestException as exc:
                    self._fail(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code != 200:
                    self._fail(f"{response.status_code}: {response.text[:300]}")
                    continue
                body = response.json()
                with self._lock:
                    self.issued.append(Issued(body["lease_id"], body["data"]["access_key"]))

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)


def issue(server: ServerProcess, token: str, count: int, threads: int) -> list[Issued]:
    """Issue `count` credentials from `threads` threads; every request must succeed."""
    assert count % threads == 0
    run = Issuance(server, token, threads, count // threads)
    run.start()
    run.join(timeout=120)
    assert not run.failures, run.failures[:5]
    assert run.count() == count
    return run.issued


@dataclass(frozen=True)
class Revocation:
    """What revoking one lease did: the user it named (from the first IAM call it made), the
    broker's answer, and whether it deleted that user."""

    lease_id: str
    username: str
    status: int
    error: str
    deleted: bool


def revoke_parallel(broker: Broker, lease_ids: Iterable[str], threads: int = 8) -> dict[str, int]:
    """Revoke leases (sync) from `threads` threads; lease id -> the broker's HTTP status."""
    chunks: list[list[str]] = [[] for _ in range(threads)]
    for n, lease_id in enumerate(lease_ids):
        chunks[n % threads].append(lease_id)
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    url = broker.server.v1("sys/leases/revoke")

    def work(chunk: list[str]) -> None:
        with requests.Session() as session:
            for lease_id in chunk:
                response = session.put(
                    url,
                    json={"lease_id": lease_id},
                    headers={"X-Vault-Token": broker.token},
                    timeout=60,
                )
                with lock:
                    statuses[lease_id] = response.status_code

    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks if chunk]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "revocations still running"
    return statuses


def revoke_each(broker: Broker, world: AWSWorld, lease_ids: Iterable[str]) -> list[Revocation]:
    """Revoke leases one at a time (sync), telling from the proxy's record which user each one
    named. Nothing else may be calling IAM meanwhile."""
    done: list[Revocation] = []
    for lease_id in lease_ids:
        before = len(world.calls())
        response = broker.call("PUT", "sys/leases/revoke", json={"lease_id": lease_id}, timeout=60)
        calls = world.calls()[before:]
        names = {c.param("UserName") for c in calls if c.param("UserName")}
        assert len(names) == 1, (lease_id, names)
        (name,) = names
        deleted = any(c.action == "DeleteUser" and c.status == 200 for c in calls)
        error = "" if response.status_code == 204 else response.text[:300]
        done.append(Revocation(lease_id, str(name), response.status_code, error, deleted))
    return done
