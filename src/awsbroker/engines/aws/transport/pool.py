"""AWS calls made in helper processes, beside the server's interpreter lock rather than under it.

boto3 spends most of an issuance's CPU: building and signing the request and parsing AWS's XML
(2 to 4 ms per STS credential on the benchmark machine, more than the server's own work). In
one Python process that work and the server's queue for the same interpreter lock, so one
server tops out at one core. A `CallPool` runs the mount clients' calls in helper processes
(`python -m awsbroker.engines.aws.transport.pool FD`), each with its own threads and clients; the
server's request thread waits for the answer without holding the lock.

The pool is one implementation of the engine's IAM and STS protocols (api.py): `RemoteIAM`
and `RemoteSTS` have exactly their methods and types. What crosses the socket pair (pickled;
only the two processes hold its ends): once per helper and client, the client's `ClientSpec`
(keys included) under a number; then per call only that number, the operation's name and its
keyword arguments. Back come the parsed response or the exception, and the call's metric
records, which the server replays into its own metrics. AWS errors come back as plain
`ClientError` (a client's modeled subclasses cannot be unpickled elsewhere); the engine reads
only their code.

Not used unless configured (`aws_call_processes`; `DEFAULT_PROCESSES` says why). A helper that
dies fails the calls it had in flight with `CallProcessGone`, a `BotoCoreError`:
the caller gets a 502 and the lease manager retries a revocation, as for a lost connection to
AWS, and the write-ahead log covers an IAM user the lost call may have made. The next call
starts a new helper. A helper exits as soon as the server's end of its socket closes.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import botocore.exceptions

from awsbroker.engines.aws.transport.api import (
    IAM,
    IAM_OPERATIONS,
    STS,
    STS_OPERATIONS,
    ForwardingIAM,
    ForwardingSTS,
)
from awsbroker.engines.aws.transport.boto import build_iam, build_sts
from awsbroker.engines.aws.transport.endpoints import ClientSpec
from awsbroker.engines.aws.transport.light_iam import LightIAM
from awsbroker.engines.aws.transport.light_sts import LightSTS
from awsbroker.sdk.telemetry import Telemetry

log = logging.getLogger("awsbroker.engines.aws.transport.pool")
_R = TypeVar("_R")
# Calls one helper runs at once: as many as a client's connection pool (boto.py).
THREADS = 64
# Clients one helper keeps (a `config/root` write or another mount makes a new spec).
CLIENTS = 32
# (kind, metric name, value, labels), kind "count" or "observe".
Record = tuple[str, str, float, dict[str, str]]


class CallProcessGone(botocore.exceptions.BotoCoreError):
    fmt = "the AWS call process exited before answering: {reason}"


DEFAULT_PROCESSES = 0
"""The server's `aws_call_processes` when not set: none, the calls are made in the server process.

With the light IAM and STS paths (light_query.py) an issuing call costs about 0.3 to 0.4 ms of
CPU, less than the hop to a helper (pickling both ways, the socket, the reader thread, the
metrics replayed): on two cores the server alone spent 0.44x to 0.75x of direct boto3's CPU per
`iam_user` credential against 0.63x to 0.91x with two helpers, and issued as many credentials
a second or more (docs/performance.md, "The light IAM path"). Helpers remain a setting for
configurations that send the calls to boto3 (a proxy, verification off...), where boto3's CPU
per call is back.
"""


# ---- the server's side ----------------------------------------------------------------------


class _Waiter:
    """One call in flight: the calling thread blocks on a lock the reader releases."""

    __slots__ = ("_done", "ok", "records", "value")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self.ok = False
        self.value: Any = None
        self.records: list[Record] = []

    def resolve(self, ok: bool, value: Any, records: list[Record]) -> None:
        self.ok, self.value, self.records = ok, value, records
        self._done.release()

    def wait(self) -> None:
        self._done.acquire()


class _Helper:
    """One helper process, its socket and the calls in flight to it."""

    def __init__(self, threads: int) -> None:
        ours, theirs = socket.socketpair()
        try:
            with theirs:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", __name__, str(theirs.fileno()), str(threads)],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
        except BaseException:
            ours.close()
            raise
        self._sock = ours  # kept to shut down: that wakes our reader and ends the helper
        self.conn = Connection(os.dup(ours.fileno()))
        self.lock = threading.Lock()  # pending, alive and the sending end
        self.pending: dict[int, _Waiter] = {}
        self.specs: set[int] = set()  # the clients this helper has been told of
        self.alive = True
        self.reader = threading.Thread(
            target=self._read, name=f"aws-calls-{self.proc.pid}", daemon=True
        )
        self.reader.start()

    def send(
        self,
        call_id: int,
        spec_id: int,
        spec: ClientSpec,
        method: str,
        kwargs: Mapping[str, object],
    ) -> _Waiter:
        waiter = _Waiter()
        with self.lock:
            if not self.alive:
                raise CallProcessGone(reason="it had exited")
            self.pending[call_id] = waiter
            try:
                if spec_id not in self.specs:  # the client's keys cross once, not per call
                    self.conn.send(("spec", spec_id, spec))
                    self.specs.add(spec_id)
                # Each message is pickled whole before anything is written.
                self.conn.send(("call", call_id, spec_id, method, dict(kwargs)))
            except BaseException as exc:
                del self.pending[call_id]
                if isinstance(exc, OSError):
                    raise CallProcessGone(reason=str(exc)) from None
                raise
        return waiter

    def _read(self) -> None:
        while True:
            try:
                call_id, ok, value, records = self.conn.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                waiter = self.pending.pop(call_id, None)
            if waiter is not None:
                waiter.resolve(ok, value, records)
        with self.lock:
            self.alive = False
            lost, self.pending = self.pending, {}
            self.conn.close()
            self._sock.close()
        try:
            code: int | None = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        reason = f"exit status {code}" if code is not None else "its socket closed"
        if lost:
            log.warning("AWS call process %d went away with %d call(s) in flight (%s)",
                        self.proc.pid, len(lost), reason)  # fmt: skip
        for waiter in lost.values():
            waiter.resolve(False, CallProcessGone(reason=reason), [])

    def close(self) -> None:
        with self.lock:
            if self.alive:
                self._sock.shutdown(socket.SHUT_RDWR)  # the helper sees end of file and exits
        self.reader.join(timeout=5)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class CallPool:
    """Helper processes for AWS calls, started on the first call and replaced when one dies.

    One pool serves every AWS mount of a server. Each call goes to the helper with the fewest
    calls in flight.
    """

    def __init__(self, processes: int, threads: int = THREADS) -> None:
        if processes < 1:
            raise ValueError("a call pool needs at least one process")
        self.processes = processes
        self.threads = threads
        self._lock = threading.Lock()
        self._helpers: list[_Helper] = []
        self._ids = itertools.count()
        self._spec_ids: dict[ClientSpec, int] = {}
        self._closed = False

    def iam(self, spec: ClientSpec, telemetry: Telemetry) -> RemoteIAM:
        return RemoteIAM(self, spec, telemetry)

    def sts(self, spec: ClientSpec, telemetry: Telemetry) -> RemoteSTS:
        return RemoteSTS(self, spec, telemetry)

    def call(
        self, spec: ClientSpec, method: str, kwargs: Mapping[str, object], telemetry: Telemetry
    ) -> Any:
        """Run `method` of the helpers' client for `spec`; its answer as boto3 gave it."""
        with self._lock:
            spec_id = self._spec_ids.setdefault(spec, len(self._spec_ids))
        waiter = self._helper().send(next(self._ids), spec_id, spec, method, kwargs)
        waiter.wait()
        for kind, name, value, labels in waiter.records:
            if kind == "count":
                telemetry.count(name, labels, value)
            else:
                telemetry.observe(name, value, labels)
        if not waiter.ok:
            raise waiter.value
        return waiter.value

    def pids(self) -> list[int]:
        with self._lock:
            return [h.proc.pid for h in self._helpers if h.alive]

    def _helper(self) -> _Helper:
        with self._lock:
            if self._closed:
                raise CallProcessGone(reason="the server is shutting down")
            self._helpers = [h for h in self._helpers if h.alive]
            while len(self._helpers) < self.processes:
                try:
                    self._helpers.append(_Helper(self.threads))
                except OSError as exc:  # no process left, no file descriptor left
                    if not self._helpers:
                        raise CallProcessGone(reason=f"none could be started: {exc}") from None
                    break
            return min(self._helpers, key=lambda h: len(h.pending))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.close()


class _Remote:
    """A client whose calls run in the pool's helpers, for one `ClientSpec`."""

    def __init__(self, pool: CallPool, spec: ClientSpec, telemetry: Telemetry) -> None:
        self._pool = pool
        self._spec = spec
        self._telemetry = telemetry

    def _forward(self, operation: Callable[..., _R], kwargs: Mapping[str, object]) -> _R:
        """`operation` (a method of the protocol) run by a helper. Its answer is what the
        helper's boto3 client returned for that operation, which the protocol types."""
        answer: _R = self._pool.call(self._spec, operation.__name__, kwargs, self._telemetry)
        return answer

    def close(self) -> None:
        """Nothing to close here: the helper keeps its clients."""


class RemoteIAM(_Remote, ForwardingIAM):
    """IAM calls run by a helper process."""


class RemoteSTS(_Remote, ForwardingSTS):
    """STS calls run by a helper process."""


# ---- the helper's side ----------------------------------------------------------------------


class _Recorder:
    """The helper's `Telemetry`: keeps the current thread's records for its answer."""

    def __init__(self) -> None:
        self._local = threading.local()

    def take(self) -> list[Record]:
        """The records of the current thread's call, which are then forgotten."""
        records: list[Record] = self._local.__dict__.pop("records", [])
        return records

    def _add(self, record: Record) -> None:
        self._local.__dict__.setdefault("records", []).append(record)

    def count(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        self._add(("count", name, amount, dict(labels)))

    def observe(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        self._add(("observe", name, value, dict(labels)))

    def gauge(self, name: str, value: float, labels: Mapping[str, str]) -> None:
        """AWS clients report no gauges."""


class _Clients:
    """The helper's clients by spec number, the least recently used dropped past `size` (its
    spec is kept: the server tells a helper of each spec once)."""

    def __init__(self, telemetry: Telemetry, size: int = CLIENTS) -> None:
        self.specs: dict[int, ClientSpec] = {}
        self._telemetry = telemetry
        self.get = functools.lru_cache(maxsize=size)(self._build)

    def _build(self, spec_id: int) -> IAM | STS:
        spec = self.specs[spec_id]
        if spec.service == "iam":
            return LightIAM(build_iam(spec, self._telemetry), self._telemetry)
        return LightSTS(build_sts(spec, self._telemetry), self._telemetry)

    def operation(self, spec_id: int, method: str) -> Callable[..., object]:
        """The client's bound method `method`, which must be one of the protocol's."""
        client = self.get(spec_id)
        allowed = IAM_OPERATIONS if self.specs[spec_id].service == "iam" else STS_OPERATIONS
        if method not in allowed:
            raise AttributeError(f"{method} is not an operation of the engine's clients")
        operation: Callable[..., object] = getattr(client, method)
        return operation


def _portable(exc: BaseException) -> BaseException:
    """`exc` as something the server can unpickle."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return botocore.exceptions.ClientError(exc.response, exc.operation_name)
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def serve(conn: Connection, threads: int) -> None:
    recorder = _Recorder()
    clients = _Clients(recorder)
    send_lock = threading.Lock()

    def run(call_id: int, spec_id: int, method: str, kwargs: dict[str, object]) -> None:
        try:
            answer: tuple[object, ...] = (
                call_id,
                True,
                clients.operation(spec_id, method)(**kwargs),
            )
        except Exception as exc:
            answer = (call_id, False, _portable(exc))
        try:
            with send_lock:
                conn.send((*answer, recorder.take()))
        except OSError:
            os._exit(0)  # the server is gone

    # Leader and followers: the free threads take turns reading the socket, and the one that
    # read a call runs it. A call reaches its thread without a queue or a second wake-up.
    receiving = threading.Lock()

    def work() -> None:
        while True:
            with receiving:
                try:
                    message = conn.recv()
                    while message[0] == "spec":  # a client's spec, sent before its first call
                        clients.specs[message[1]] = message[2]
                        message = conn.recv()
                except (EOFError, OSError):
                    # The server closed its end or died: nobody is left to answer. Calls still
                    # running are abandoned; the server's write-ahead log covers their effects.
                    os._exit(0)
            _, call_id, spec_id, method, kwargs = message
            run(call_id, spec_id, method, kwargs)

    workers = [threading.Thread(target=work, name=f"aws-call-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main(argv: list[str]) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, threads = int(argv[0]), int(argv[1])
    serve(Connection(fd), threads)


if __name__ == "__main__":
    main(sys.argv[1:])
