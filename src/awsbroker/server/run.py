"""`awsbroker server`: start from a config file, or in dev mode with everything in memory."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from types import FrameType

from awsbroker.core.mounts import new_entry
from awsbroker.sdk.errors import InternalError, StorageTooNew
from awsbroker.server import dev_mode, listener
from awsbroker.server.compose import Server, build, storage_failure, storage_location
from awsbroker.server.config import (
    LOG_FORMATS,
    LOG_LEVELS,
    RETIRED,
    ConfigError,
    Listener,
    ServerConfig,
    load,
)
from awsbroker.server.dev_emulator import Emulator, EmulatorUnavailable
from awsbroker.server.logs import setup_logging
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
    p.add_argument(
        "--dev-aws-emulator",
        "-dev-aws-emulator",
        action="store_true",
        help="dev mode: an AWS emulator (moto) on loopback, aws/ configured with example roles",
    )
    p.add_argument(
        "--dev-aws-emulator-address",
        "-dev-aws-emulator-address",
        default="127.0.0.1:0",
        help="HOST:PORT of the emulator (port 0: any free port)",
    )
    p.add_argument(
        "--log-level", "-log-level", choices=sorted(LOG_LEVELS), help="overrides log_level"
    )
    p.add_argument("--log-format", "-log-format", choices=LOG_FORMATS, help="overrides log_format")
    # Retired with the setting (config.RETIRED): accepted, whatever N, so that a unit or script
    # that passes it still starts the server.
    p.add_argument(
        "--aws-call-processes",
        "-aws-call-processes",
        metavar="N",
        help="no longer used: AWS calls run in the server process (ignored, with a warning)",
    )
    return p


def warn_retired(config: ServerConfig, args: argparse.Namespace) -> None:
    """One warning line for each retired setting given, in the file or as a flag: it changes
    nothing now and can be removed."""
    for name, instead in RETIRED.items():
        given = [name] if name in config.retired else []
        if getattr(args, name, None) is not None:
            given.append("--" + name.replace("_", "-"))
        if given:
            log.warning("%s: no longer used and can be removed (%s)", " and ".join(given), instead)


def setup_dev(server: Server, root_token_id: str) -> tuple[str, str]:
    """Initialise with one key share, unseal, mount `aws/`. Returns (unseal key, root token)."""
    core = server.core
    keys, root_token = core.initialize(1, 1, root_token_id=root_token_id)
    core.submit_unseal_key(keys[0])
    core.enable_mount(new_entry("aws/", "aws"))
    return keys[0].hex(), root_token


def _reopen_on_sighup(server: Server) -> None:
    """SIGHUP reopens the audit files (log rotation): each device reopens at its next write."""

    def reopen(signum: int, frame: FrameType | None) -> None:
        server.core.audit.broker.reopen()
        log.info("SIGHUP: audit devices will reopen their files")

    signal.signal(signal.SIGHUP, reopen)


def serve(server: Server) -> None:
    """Listen until SIGTERM or SIGINT (a clean exit, status 0), then close the storage."""
    _reopen_on_sighup(server)
    ticker = Ticker(server.core)
    ticker.start()
    try:
        listener.serve(server.app, server.config.listener)
    finally:
        ticker.stop()
        server.close()


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    setup_logging()
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
        config = dataclasses.replace(
            config,
            log_level=LOG_LEVELS[args.log_level] if args.log_level else config.log_level,
            log_format=args.log_format or config.log_format,
        )
        setup_logging(config.log_level, config.log_format)
        warn_retired(config, args)
        listener.check_tls(config.listener)
        listener.check_free(config.listener)
        server = build(config)
    except (ConfigError, listener.ListenError) as exc:
        print(f"awsbroker server: {exc}", file=sys.stderr)
        return 1
    except StorageTooNew as exc:
        print(f"awsbroker server: {exc.at(storage_location(config))}", file=sys.stderr)
        return 1
    except InternalError as exc:  # the storage could not be opened
        print(f"awsbroker server: {storage_failure(config, exc)}", file=sys.stderr)
        return 1
    emulator: Emulator | None = None
    if args.dev:
        unseal_key, root_token = setup_dev(server, args.dev_root_token_id)
        if args.dev_aws_emulator:
            try:
                emulator = dev_mode.start_emulator(
                    server.core, root_token, args.dev_aws_emulator_address
                )
            except EmulatorUnavailable as exc:
                server.close()
                print(f"awsbroker server: {exc}", file=sys.stderr)
                return 1
        token_line = dev_mode.save_token(root_token)
        address = config.listener.address
        print(dev_mode.banner(address, unseal_key, root_token, token_line, emulator), flush=True)
    else:
        status = server.core.seal_status()
        state = "sealed" if status.initialized else "not initialised"
        log.info(
            "awsbroker listening on %s (%s storage, %s)",
            config.listener.address,
            config.storage_type,
            state,
        )
    try:
        serve(server)
    except listener.ListenError as exc:
        print(f"awsbroker server: {exc}", file=sys.stderr)
        return 1
    finally:
        if emulator is not None:
            emulator.stop()
    return 0
