"""The HTTP(S) listener: granian serving the ASGI app in this process's event loop.

granian parses HTTP in Rust, outside the interpreter lock, where uvicorn's h11 parser and its
response writer took about a third of the server's CPU per request (docs/performance.md). It
runs embedded: the app, the core and its storage live in this process, which is what the
in-memory dev server and the SQLite store need, and the server keeps one event loop.

SIGTERM and SIGINT stop it gracefully: the listening socket closes, requests in flight are
answered, then `serve` returns so that the caller can close the storage. Vault accepts TLS 1.2
and later by default; so do we (granian's own default is 1.3 only).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from pathlib import Path

from granian.constants import HTTPModes, Interfaces, SSLProtocols
from granian.server.embed import Server as Granian
from starlette.types import ASGIApp

from awsbroker.server.config import Listener

log = logging.getLogger("awsbroker.server")
# granian's own logger: it warns at every start that the embedded mode is "experimental"
# (docs/dependencies.md says why we use it anyway); its errors still get through.
GRANIAN_LOGGER = "_granian"
BACKLOG = 1024


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
            http=HTTPModes.auto,
            websockets=False,
            backlog=BACKLOG,
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
