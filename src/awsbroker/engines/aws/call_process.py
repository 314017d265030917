"""AWS calls made in helper processes, beside the server's interpreter lock rather than under it.

boto3 spends most of an issuance's CPU: building and signing the request and parsing AWS's XML
(2 to 4 ms per STS credential on the benchmark machine, more than the server's own work). In
one Python process that work and the server's queue for the same interpreter lock, so one
server tops out at one core. A `CallPool` runs the mount clients' calls in helper processes
(`python -m awsbroker.engines.aws.call_process FD`), each with its own threads and clients; the
server's request thread waits for the answer without holding the lock.

What crosses the socket pair (pickled; only the two processes hold its ends): the client's
`ClientSpec` (keys included), the method name and its keyword arguments; back come the parsed
response or the exception, and the call's metric records, which the server replays into its
own metrics. AWS errors come back as plain `ClientError` (a client's modeled subclasses cannot
be unpickled elsewhere); the engine reads only their code.

A helper that dies fails the calls it had in flight with `CallProcessGone`, a `BotoCoreError`:
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
from typing import Any

import botocore.exceptions

from awsbroker.engines.aws.client import ClientSpec, build_client
from awsbroker.sdk.telemetry import Telemetry

log = logging.getLogger("awsbroker.engines.aws.call_process")
# Calls one helper runs at once: as many as a client's connection pool (client.py).
THREADS = 64
# Clients one helper keeps (a `config/root` write or another mount makes a new spec).
CLIENTS = 32
# (kind, metric name, value, labels), kind "count" or "observe".
Record = tuple[str, str, float, dict[str, str]]


class CallProcessGone(botocore.exceptions.BotoCoreError):
    fmt = "the AWS call process exited before answering: {reason}"


def default_processes() -> int:
    """One helper per core, at least two and at most four.

    A helper is bound by its own interpreter lock, and boto3 spends more CPU per credential
    than the server does: with one helper on two cores, the helper was the bottleneck (0.63x
    to 0.94x of direct boto3 at 64 and 256 clients); with two, 1.19x to 1.29x.
    """
    return max(2, min(4, os.cpu_count() or 2))


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
        self.alive = True
        self.reader = threading.Thread(
            target=self._read, name=f"aws-calls-{self.proc.pid}", daemon=True
        )
        self.reader.start()

    def send(self, call_id: int, message: tuple[Any, ...]) -> _Waiter:
        waiter = _Waiter()
        with self.lock:
            if not self.alive:
                raise CallProcessGone(reason="it had exited")
            self.pending[call_id] = waiter
            try:
                self.conn.send((call_id, *message))  # pickled whole before anything is written
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
        self._closed = False

    def client(self, spec: ClientSpec, telemetry: Telemetry) -> RemoteClient:
        return RemoteClient(self, spec, telemetry)

    def call(
        self, spec: ClientSpec, method: str, kwargs: Mapping[str, Any], telemetry: Telemetry
    ) -> Any:
        waiter = self._helper().send(next(self._ids), (spec, method, kwargs))
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


class RemoteClient:
    """Stands in for a boto3 client: `client.create_user(UserName=...)` runs in a helper.

    Only keyword-argument method calls are supported, which is all the engine makes on the
    mount's clients; `exceptions`, `meta` and paginators are not.
    """

    def __init__(self, pool: CallPool, spec: ClientSpec, telemetry: Telemetry) -> None:
        self._pool = pool
        self._spec = spec
        self._telemetry = telemetry

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(**kwargs: Any) -> Any:
            return self._pool.call(self._spec, method, kwargs, self._telemetry)

        call.__name__ = method
        return call

    def close(self) -> None:
        """Nothing to close here: the helper keeps its clients."""


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


def client_cache(telemetry: Telemetry, size: int = CLIENTS) -> Callable[[ClientSpec], Any]:
    """The helper's clients by spec, the least recently used dropped past `size`."""
    return functools.lru_cache(maxsize=size)(functools.partial(build_client, telemetry=telemetry))


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
    client = client_cache(recorder)
    send_lock = threading.Lock()

    def run(call_id: int, spec: ClientSpec, method: str, kwargs: dict[str, Any]) -> None:
        try:
            answer: tuple[Any, ...] = (call_id, True, getattr(client(spec), method)(**kwargs))
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
                    call_id, spec, method, kwargs = conn.recv()
                except (EOFError, OSError):
                    # The server closed its end or died: nobody is left to answer. Calls still
                    # running are abandoned; the server's write-ahead log covers their effects.
                    os._exit(0)
            run(call_id, spec, method, kwargs)

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
