"""The HTTP(S) listener: granian serving the ASGI app in this process's event loop.

granian parses HTTP in Rust, outside the interpreter lock, where uvicorn's h11 parser and its
response writer took about a third of the server's CPU per request (docs/performance.md). It
runs embedded: the app, the core and its storage live in this process, which is what the
in-memory dev server and the SQLite store need, and the server keeps one event loop.

SIGTERM and SIGINT stop it gracefully: the listening socket closes, requests in flight are
answered, then `serve` returns so that the caller can close the storage. Vault accepts TLS 1.2
and later by default; so do we (granian's own default is 1.3 only).

Idle connections cannot pile up (docs/compatibility.md, "connections"):

- HTTP/1.1 only. granian's HTTP/2, and its sniffing of the HTTP/2 preface on plain
  connections, have no timeout: a connection that never sent a byte stayed open for good.
- hyper's header read timeout (`http_read_header_timeout`) closes a connection that has not
  sent a whole request head in time, counted from the connection's start and, on a kept-alive
  connection, from the previous answer: so it also bounds the idle wait for the next request
  (`http_idle_timeout` can only make that shorter). granian's TLS handshakes time out at 10 s.
  The body's wait (`http_read_timeout`) is the app's (http/app.py).
- At most `max_connections()` connections are served at once (granian's `backpressure`: a
  connection takes a permit before it is accepted); more wait in the kernel's backlog, holding
  no descriptor of ours, so idle connections cannot take the descriptors the server needs. The
  soft limit on open files is raised to the hard one first, as Go (and so Vault) does.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
from pathlib import Path

from granian.constants import HTTPModes, Interfaces, SSLProtocols
from granian.http import HTTP1Settings
from granian.server.embed import Server as Granian
from starlette.types import ASGIApp

from awsbroker.server import tls_files
from awsbroker.server.config import Listener

log = logging.getLogger("awsbroker.server")
# granian's own logger: it warns at every start that the embedded mode is "experimental"
# (docs/dependencies.md says why we use it anyway); its errors still get through.
GRANIAN_LOGGER = "_granian"
BACKLOG = 1024
# Descriptors kept for everything but client connections: storage, audit files, the AWS call
# processes' sockets, the log, granian's and asyncio's own (a server uses about 40).
RESERVED_FILES = 256
MIN_CONNECTIONS = 16


class ListenError(Exception):
    """The listener could not start: the address is taken, or the TLS files are unusable."""


def serve(app: ASGIApp, listener: Listener) -> None:
    """Serve `app` on the listener's address until SIGTERM or SIGINT."""
    host, port = listener.host_port
    tls = not listener.tls_disable
    try:
        granian = Granian(
            app,
            address=host,
            port=port,
            interface=Interfaces.ASGINL,  # no lifespan: the core is built before we listen
            http=HTTPModes.http1,
            http1_settings=http1_settings(listener),
            websockets=False,
            backlog=BACKLOG,
            backpressure=max_connections(raise_open_files_limit()),
            log_enabled=False,  # our handlers (server/logs.py) format its records
            ssl_cert=Path(listener.tls_cert_file) if tls else None,
            ssl_key=Path(listener.tls_key_file) if tls else None,
            ssl_protocol_min=SSLProtocols.tls12,
        )
    except Exception as exc:  # granian loads the TLS files as it is configured
        files = f"tls_cert_file {listener.tls_cert_file}, tls_key_file {listener.tls_key_file}"
        raise ListenError(f"cannot load the TLS certificate and key ({files}): {exc}") from None
    logging.getLogger(GRANIAN_LOGGER).setLevel(logging.ERROR)
    asyncio.run(_run(granian, listener.address))


def http1_settings(listener: Listener) -> HTTP1Settings:
    """hyper's one timer covers the request head and the idle wait before it (see above)."""
    wait = min(listener.http_read_header_timeout, listener.http_idle_timeout)
    return HTTP1Settings(header_read_timeout=wait * 1000, keep_alive=True)


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard one; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard not in (soft, resource.RLIM_INFINITY):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # the soft limit stays
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def max_connections(open_files: int) -> int:
    """Connections served at once: what the open-files limit leaves after `RESERVED_FILES`
    (a quarter of a small limit)."""
    return max(MIN_CONNECTIONS, open_files - min(RESERVED_FILES, open_files // 4))


def check_tls(listener: Listener) -> None:
    """Refuse a certificate or key that cannot serve TLS, naming the file and the fault."""
    if listener.tls_disable:
        return
    fault = tls_files.problem(listener.tls_cert_file, listener.tls_key_file)
    if fault is not None:
        raise ListenError(fault)


def check_free(listener: Listener) -> None:
    """Refuse an address something already listens on, a second awsbroker included.

    granian binds with SO_REUSEPORT on Linux, so a second server started by the same user on
    the same address would not fail: it would silently take half of the connections. A socket
    without SO_REUSEPORT cannot bind where another listens, which is what this probe tells.
    """
    host, port = listener.host_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Connections of an earlier run still in TIME_WAIT do not count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ListenError(f"cannot listen on {listener.address}: {reason}") from None


async def _run(granian: Granian, address: str) -> None:
    loop = asyncio.get_running_loop()

    def stop(signum: signal.Signals) -> None:
        log.info("Shutting down on %s: answering the requests in flight", signum.name)
        granian.stop()  # type: ignore[no-untyped-call]  # granian leaves it unannotated

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await granian.serve()
    except OSError as exc:
        raise ListenError(f"cannot listen on {address}: {exc}") from exc
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
