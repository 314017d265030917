"""The composition root: physical store, core, engines and the HTTP app, wired once."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psycopg
from starlette.types import ASGIApp

from awsbroker.auth.approle.backend import factory as approle_factory
from awsbroker.auth.jwt.backend import factory as jwt_factory
from awsbroker.auth.kubernetes.backend import factory as kubernetes_factory
from awsbroker.core import unauthed
from awsbroker.core.core import Core, CoreConfig
from awsbroker.core.expiration import RevocationPolicy
from awsbroker.core.system.backend import SystemBackend
from awsbroker.engines.aws.backend import factory as aws_factory
from awsbroker.http.app import build_app
from awsbroker.http.sites import SitePolicy
from awsbroker.http.ui import Console
from awsbroker.physical.inmem import InmemStorage
from awsbroker.physical.postgresql import PostgreSQLStorage, without_secrets
from awsbroker.physical.sqlite import SQLiteStorage, open_problem
from awsbroker.sdk.clock import Clock, SystemClock
from awsbroker.sdk.framework import BackendFactory
from awsbroker.server.config import ConfigError, ServerConfig, default_api_addr

Physical = InmemStorage | SQLiteStorage | PostgreSQLStorage


@dataclass
class Server:
    config: ServerConfig
    physical: Physical
    core: Core
    app: ASGIApp

    def close(self) -> None:
        self.core.close()
        if not isinstance(self.physical, InmemStorage):
            self.physical.close()


def open_physical(config: ServerConfig) -> Physical:
    if config.storage_type == "sqlite":
        return SQLiteStorage(config.storage["path"])
    if config.storage_type == "postgresql":
        table = config.storage.get("table", "awsbroker_kv")
        try:
            return PostgreSQLStorage(config.storage["connection_url"], table=table)
        except ValueError as exc:  # the table name, checked before connecting
            raise ConfigError(f'storage "postgresql": {exc}') from None
    return InmemStorage()


def engines() -> dict[str, BackendFactory]:
    return {"aws": aws_factory}


def auth_methods() -> dict[str, BackendFactory]:
    """The auth method types `sys/auth` can enable (`token` is built into the core)."""
    return {
        "approle": approle_factory,
        "kubernetes": kubernetes_factory,
        "jwt": jwt_factory,
        "oidc": jwt_factory,
    }


def build(config: ServerConfig, clock: Clock | None = None) -> Server:
    physical = open_physical(config)
    core = Core(
        physical,
        engines(),
        CoreConfig(
            default_lease_ttl=config.default_lease_ttl,
            max_lease_ttl=config.max_lease_ttl,
            storage_type=config.storage_type,
            cluster_name=config.cluster_name,
            clock=clock or SystemClock(),
            unauthenticated_metrics_access=config.listener.unauthenticated_metrics_access,
            unauthed_paths=unauthed.Unauthed(
                rekey=not config.listener.disable_unauthed_rekey_endpoints,
                generate_root=not config.listener.disable_unauthed_generate_root_endpoints,
            ),
            api_addr=config.api_addr or default_api_addr(config.listener, socket.gethostname()),
            cluster_addr=config.cluster_addr,
            node_dead_after=config.node_dead_after,
            login_rate_limit=config.login_rate_limit,
            revocation=RevocationPolicy(
                max_attempts=config.revocation.max_attempts,
                base_delay=config.revocation.initial_backoff,
                max_delay=config.revocation.max_backoff,
                workers=config.revocation.workers,
                batch=config.revocation.batch,
            ),
        ),
        system_backend=SystemBackend,
        auth_methods=auth_methods(),
    )
    listener = config.listener
    app = build_app(
        core.handle,
        config.max_request_size,
        core.metrics.observe_request,
        read_timeout=listener.http_read_timeout,
        sites=SitePolicy(listener.answers_to, listener.allowed_origins),
        console=Console(enabled=config.ui, idle_seconds=config.ui_idle_timeout),
    )
    server = Server(config, physical, core, app)
    try:
        core.storage_format.check()  # before listening: this build may be too old for it
    except BaseException:
        server.close()
        raise
    return server


def storage_failure(config: ServerConfig, exc: Exception) -> str:
    """One line saying why the storage could not be opened: for SQLite, what is wrong with the
    path if that can be seen; else the driver's first line, without the connection URL's
    password."""
    cause = exc.__cause__ or exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if config.storage_type == "sqlite":
        reason = open_problem(config.storage["path"]) or reason
    url = config.storage.get("connection_url", "")
    if url:
        reason = without_secrets(reason, url)
        if isinstance(cause, psycopg.ProgrammingError):  # libpq could not parse it
            reason = f"connection_url is not valid: {reason}"
    return f"cannot open the storage at {storage_location(config)}: {reason}"


def storage_location(config: ServerConfig) -> str:
    """Where the storage is, for messages (never the connection URL: it may hold a password)."""
    if config.storage_type == "sqlite":
        return config.storage["path"]
    if config.storage_type == "postgresql":
        return f"PostgreSQL table {config.storage.get('table', 'awsbroker_kv')}"
    return "memory"
