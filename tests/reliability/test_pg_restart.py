"""PostgreSQL stopped and started again under load: requests fail cleanly while it is down,
succeed again soon after it is back, and no credential a client received loses its lease.

The broker runs on a private PostgreSQL cluster (`tests/support/pg_cluster.py`, never the
machine's) whose DSN carries a password: trust authentication ignores it, and it must show up
in no answer and no log line. Threads request `iam_user` credentials without pause and record
every answer. PostgreSQL is stopped twice, `immediate` (a crash) then `fast`, each time for
`DOWNTIME` seconds, longer than the storage's wait for a connection (`CHECKOUT_WAIT`), so every
thread sees requests fail while it is down.

A request caught between CreateUser and the storing of its lease leaves a user without a lease
and a write-ahead entry. The entry of a live process is rolled back after five minutes (its
request might still be running); after a restart, once the old process's heartbeat is 30 s old
(`docs/leases.md`). The test restarts the broker to have them rolled back within the run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from tests.support.pg_cluster import PgCluster, StopMode
from tests.support.reliability import (
    LEASE_PREFIX,
    MOUNT,
    ROLE,
    AWSWorld,
    Broker,
    Workers,
    wait_for,
    wait_rolled_back,
)
from tests.support.server import ServerFactory, ServerProcess

from awsbroker.http.errors import status_for
from awsbroker.physical.postgresql import CHECKOUT_WAIT, PostgreSQLStorage
from awsbroker.sdk.errors import StorageUnavailable

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

THREADS = 8
DOWNTIME = 7.5  # seconds; more than CHECKOUT_WAIT, so requests fail while PostgreSQL is down
REQUEST_BOUND = CHECKOUT_WAIT + 5.0  # the longest any answer may take, down or up
RECOVERY_BOUND = 10.0  # from PostgreSQL accepting again to the first credential issued
SUCCESSES_BETWEEN = 2 * THREADS  # issued after each recovery before going on
# Half-made users of the first process: its heartbeat is 30 s old at most ~30 s after the
# restart, and the rollback runs with the periodic jobs, every 15 s.
PASSWORD = "dsn-password-never-shown"
TABLE = "awsbroker_kv"
# What a failed request must say: the storage's error, or the engine's wrapping of it.
FAILURE_MESSAGES = ("storage unavailable", "error writing WAL entry: storage unavailable")


@dataclass(frozen=True)
class Answer:
    thread: int
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all
    text: str
    lease_id: str = ""
    access_key: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    """Threads that request `aws/creds/u` back to back and record every answer."""

    server: ServerProcess
    token: str
    threads: int
    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: Workers = field(init=False)

    def __post_init__(self) -> None:
        self._workers = Workers("load", self.threads, self._run)

    def start(self) -> None:
        self._workers.start()

    def stop(self, timeout: float = 60.0) -> list[Answer]:
        self._workers.stopping.set()
        self._workers.join(timeout, "load threads")
        return self.snapshot()

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def successes_since(self, since: float) -> int:
        return sum(1 for a in self.snapshot() if a.status == 200 and a.started >= since)

    def _run(self, n: int) -> None:
        url = self.server.v1(f"{MOUNT}/creds/{ROLE}")
        with requests.Session() as session:
            while not self._workers.stopping.is_set():
                started = time.monotonic()
                try:
                    response = session.get(
                        url, headers={"X-Vault-Token": self.token}, timeout=2 * REQUEST_BOUND
                    )
                except requests.RequestException as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    answer = Answer(n, started, time.monotonic(), 0, error)
                else:
                    answer = _answer(n, started, response)
                with self._lock:
                    self.answers.append(answer)


def _answer(thread: int, started: float, response: requests.Response) -> Answer:
    ended = time.monotonic()
    if response.status_code != 200:
        return Answer(thread, started, ended, response.status_code, response.text)
    body = response.json()
    lease_id, access_key = body["lease_id"], body["data"]["access_key"]
    return Answer(thread, started, ended, 200, response.text, lease_id, access_key)


@dataclass(frozen=True)
class Outage:
    mode: StopMode
    stopping: float  # the stop began
    stopped: float  # PostgreSQL no longer runs
    starting: float  # the start began
    up: float  # PostgreSQL accepts connections again

    def failed_while_down(self, answers: list[Answer]) -> list[Answer]:
        return [a for a in answers if self.stopped < a.ended < self.starting]

    def recovered(self, answers: list[Answer]) -> Answer:
        """The first credential issued after PostgreSQL was back."""
        ok = [a for a in answers if a.status == 200 and a.ended > self.up]
        return min(ok, key=lambda a: a.ended)

    def summary(self, answers: list[Answer]) -> str:
        """What clients saw: when failures were answered, how long each took, and when the
        first credential came after PostgreSQL was back."""
        first = self.recovered(answers)
        failed = [a for a in answers if a.status != 200 and self.stopping <= a.ended < first.ended]
        ends = [a.ended - self.stopping for a in failed]
        took = [a.seconds for a in failed]
        return (
            f"{self.mode}: PostgreSQL down {self.up - self.stopping:.1f} s;"
            f" {len(failed)} requests failed, answered {min(ends):.2f}-{max(ends):.2f} s after"
            f" the stop, in {min(took):.2f}-{max(took):.2f} s each; first credential"
            f" {first.ended - self.up:.2f} s after PostgreSQL was back"
        )


def outage(cluster: PgCluster, load: Load, mode: StopMode) -> Outage:
    """Stop PostgreSQL, keep it down `DOWNTIME` seconds, start it, and wait until credentials
    are issued again."""
    stopping = time.monotonic()
    cluster.stop(mode)
    stopped = time.monotonic()
    time.sleep(DOWNTIME)  # the deliberate downtime
    starting = time.monotonic()
    cluster.start()
    up = time.monotonic()
    wait_for(
        lambda: load.successes_since(up) >= SUCCESSES_BETWEEN,
        timeout=RECOVERY_BOUND + 10,
        what=f"credentials issued again after the {mode} stop",
    )
    return Outage(mode, stopping, stopped, starting, up)


@pytest.fixture
def cluster(private_pg: PgCluster) -> PgCluster:
    return private_pg


def with_password(dsn: str) -> str:
    return dsn.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def test_postgresql_restarts_under_load_fail_cleanly_and_lose_no_lease(
    aws: AWSWorld,
    cluster: PgCluster,  # stopped after `servers` has stopped the broker
    servers: ServerFactory,
) -> None:
    unavailable = status_for(StorageUnavailable())
    assert 500 <= unavailable < 600
    server = servers.postgresql(with_password(cluster.dsn), TABLE)
    broker = Broker(server, server.init_and_unseal())
    broker.configure_aws(aws, max_retries=0)

    load = Load(server, broker.token, THREADS)
    began = time.monotonic()
    load.start()
    wait_for(lambda: load.successes_since(began) >= SUCCESSES_BETWEEN, timeout=30, what="warm-up")
    outages = [outage(cluster, load, "immediate"), outage(cluster, load, "fast")]
    answers = load.stop()

    # ---- every answer: bounded, and a success or a clean "storage unavailable"
    assert [a for a in answers if a.status == 0] == [], "requests without an HTTP answer"
    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds <= REQUEST_BOUND, slowest
    failures = [a for a in answers if a.status != 200]
    for answer in failures:
        assert answer.status == unavailable, answer
        body = json.loads(answer.text)
        assert set(body) == {"errors"}, answer
        assert body["errors"], answer
        assert set(body["errors"]) <= set(FAILURE_MESSAGES), answer
    for answer in answers:
        for secret in (PASSWORD, aws.secret_key, cluster.dsn):
            assert secret not in answer.text
    assert all("secret_key" not in a.text for a in failures)

    # ---- while down: requests fail; once back: they succeed again, soon
    next_stops = [item.stopping for item in outages[1:]] + [float("inf")]
    for item, next_stop in zip(outages, next_stops, strict=True):
        down = item.failed_while_down(answers)
        assert {a.thread for a in down} == set(range(THREADS)), f"a thread saw no failure: {item}"
        assert [a for a in down if a.status != unavailable] == []
        first = item.recovered(answers)
        assert first.ended - item.up <= RECOVERY_BOUND, (item, first)
        # Once one credential is issued again, every request succeeds until the next stop.
        after = [a for a in answers if first.ended <= a.started and a.ended < next_stop]
        assert [a for a in after if a.status != 200] == [], item

    # ---- no lease lost: every credential delivered has its lease, and its user
    delivered = {a.lease_id: a.access_key for a in answers if a.status == 200}
    assert len(delivered) == len(answers) - len(failures), "a lease id delivered twice"
    lost = [lease_id for lease_id in delivered if broker.lookup(lease_id) is None]
    assert lost == [], f"credentials delivered without a lease: {lost[:5]}"
    stored = set(broker.leases())
    assert set(delivered) <= stored
    owners = aws.key_owners()
    assert [k for k in delivered.values() if k not in owners] == [], "a delivered user is gone"
    half_made = len(aws.users()) - len(stored)
    assert 0 <= half_made <= len(failures), (half_made, len(failures))
    assert half_made > 0, "no request was caught between CreateUser and its lease"

    # ---- the half-made users are rolled back once the process that made them is gone
    server.stop()
    server.start()
    broker.unseal()
    restarted = time.monotonic()
    wait_rolled_back(aws, len(stored), "rollback of the half-made users")
    rolled_back = time.monotonic() - restarted
    assert len(aws.users()) == len(stored), "a user of a stored lease was rolled back"
    owners = aws.key_owners()
    assert [k for k in delivered.values() if k not in owners] == []
    assert set(broker.leases()) == stored

    # ---- revoking every lease leaves no user behind
    revoked = broker.call("PUT", f"sys/leases/revoke-prefix/{LEASE_PREFIX}", timeout=120)
    assert revoked.status_code == 204, revoked.text
    assert broker.leases() == []
    assert aws.users() == set()
    assert broker.irrevocable_count() == 0

    # ---- the log: no DSN password, no unexpected exception of a request
    log = server.log()
    assert PASSWORD not in log
    assert aws.secret_key not in log
    assert "internal error handling" not in log
    # An outage is expected: the background ticks log a one-line warning, not an error.
    errors = [line for line in log.splitlines() if "[ERROR]" in line]
    assert errors == [], errors[:5]

    for item in outages:
        print(item.summary(answers))
    print(
        f"{len(answers)} requests in {answers[-1].ended - began:.1f} s: {len(delivered)}"
        f" credentials issued, each lease found by sys/leases/lookup; {len(failures)} failed"
        f" ({unavailable}), slowest answer {slowest.seconds:.2f} s; {len(stored)} leases stored;"
        f" {half_made} half-made users rolled back {rolled_back:.1f} s after the restart"
    )


# ---- the storage on its own: the bounds the test above relies on ------------------------------


@pytest.fixture
def quiet_pool(caplog: pytest.LogCaptureFixture) -> None:
    """The pool logs every failed connection attempt; the tests below make many."""
    caplog.set_level(logging.ERROR, logger="psycopg.pool")


@pytest.mark.usefixtures("quiet_pool")
def test_a_statement_fails_within_the_checkout_wait_while_postgresql_is_down(
    cluster: PgCluster,
) -> None:
    storage = PostgreSQLStorage(with_password(cluster.dsn), TABLE, wait=1.0)
    try:
        storage.put("k", b"v")
        cluster.stop("immediate")
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(StorageUnavailable) as caught:
                storage.get("k")
            assert time.monotonic() - started < 1.0 + 0.5
            assert caught.value.messages == ["storage unavailable"]
            assert PASSWORD not in str(caught.value)
        cluster.start()
        assert wait_for(lambda: _get(storage, "k"), timeout=5, what="reconnected") == b"v"
    finally:
        storage.close()


@pytest.mark.usefixtures("quiet_pool")
def test_the_pool_reconnects_soon_after_a_long_outage(cluster: PgCluster) -> None:
    """psycopg_pool retries a lost connection 1, 3, 7, 15, 31 ... s after losing it (+-10 %):
    left alone, it would notice a server back after 18 s only 10 to 16 s later. Each run of
    attempts is given up after `RECONNECT_WINDOW` seconds, and the next statement starts a
    new one, so the gaps stay under ~2 s."""
    storage = PostgreSQLStorage(cluster.dsn, TABLE, wait=0.5)
    try:
        storage.put("k", b"v")
        cluster.stop("immediate")
        down_until = time.monotonic() + 18
        while time.monotonic() < down_until:  # a client retrying now and then
            assert _get(storage, "k") is None
            time.sleep(0.5)
        cluster.start()
        up = time.monotonic()
        wait_for(lambda: _get(storage, "k"), timeout=30, interval=0.1, what="reconnected")
        assert time.monotonic() - up < 5.0
    finally:
        storage.close()


def _get(storage: PostgreSQLStorage, key: str) -> bytes | None:
    """The value, or None while the storage is unavailable."""
    try:
        return storage.get(key)
    except StorageUnavailable:
        return None
