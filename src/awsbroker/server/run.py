"""`awsbroker server`: start from a config file, or in dev mode with everything in memory."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

import uvicorn

from awsbroker.core.mounts import new_entry
from awsbroker.server.compose import Server, build
from awsbroker.server.config import ConfigError, Listener, ServerConfig, load
from awsbroker.server.ticker import Ticker

log = logging.getLogger("awsbroker.server")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="awsbroker server", description="Run the awsbroker server.")
    p.add_argument("--config", "-config", help="HCL configuration file")
    p.add_argument("--dev", "-dev", action="store_true", help="in-memory, initialised and unsealed")
    p.add_argument(
        "--dev-root-token-id", "-dev-root-token-id", default="", help="root token in dev mode"
    )
    p.add_argument(
        "--dev-listen-address", "-dev-listen-address", default="127.0.0.1:8200", help="HOST:PORT"
    )
    return p


def setup_dev(server: Server, root_token_id: str) -> tuple[str, str]:
    """Initialise with one key share, unseal, mount `aws/`. Returns (unseal key, root token)."""
    core = server.core
    keys, root_token = core.initialize(1, 1, root_token_id=root_token_id)
    core.submit_unseal_key(keys[0])
    core.enable_mount(new_entry("aws/", "aws"))
    return keys[0].hex(), root_token


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(server: Server) -> None:
    listener = server.config.listener
    host, port = listener.host_port
    config = uvicorn.Config(
        server.app,
        host=host,
        port=port,
        access_log=False,
        log_level=server.config.log_level if server.config.log_level != "trace" else "debug",
        ssl_certfile=None if listener.tls_disable else listener.tls_cert_file,
        ssl_keyfile=None if listener.tls_disable else listener.tls_key_file,
        timeout_graceful_shutdown=10,
        lifespan="off",
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler
    # it found installed. Ours turns that into a normal exit (status 0) that still closes storage;
    # with the default handler the process would die by the signal and skip `server.close()`.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    ticker = Ticker(server.core)
    ticker.start()
    try:
        uvicorn.Server(config).run()
    finally:
        ticker.stop()
        server.close()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(levelname)s] %(name)s: %(message)s"
    )
    try:
        if args.dev:
            config = ServerConfig(
                listener=Listener(address=args.dev_listen_address, tls_disable=True)
            )
            config.listener.host_port  # noqa: B018 - validate before initialising
        elif args.config:
            config = load(args.config)
        else:
            print(
                "awsbroker server: give --config FILE, or --dev for a throwaway server",
                file=sys.stderr,
            )
            return 2
        server = build(config)
    except ConfigError as exc:
        print(f"awsbroker server: {exc}", file=sys.stderr)
        return 1
    if args.dev:
        unseal_key, root_token = setup_dev(server, args.dev_root_token_id)
        scheme = "http"
        print(
            "awsbroker is running in dev mode: in-memory storage, unsealed, aws/ mounted.\n"
            "Do not run dev mode in production.\n\n"
            f"    export VAULT_ADDR='{scheme}://{config.listener.address}'\n"
            f"    Unseal Key: {unseal_key}\n"
            f"    Root Token: {root_token}\n",
            flush=True,
        )
    else:
        status = server.core.seal_status()
        state = "sealed" if status.initialized else "not initialised"
        log.info(
            "awsbroker listening on %s (%s storage, %s)",
            config.listener.address,
            config.storage_type,
            state,
        )
    serve(server)
    return 0
