"""The server's HCL configuration file, in Vault's shape, decoded into typed settings."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import hcl2
from hcl2.utils import SerializationOptions

from awsbroker.core.login_limits import LoginRateLimit
from awsbroker.sdk.duration import parse_duration
from awsbroker.sdk.fields import parse_bool

DEFAULT_ADDRESS = "127.0.0.1:8200"
DEFAULT_TTL = 768 * 3600
STORAGE_TYPES = ("inmem", "sqlite", "postgresql")
# Vault's log levels (and their aliases), as server/logs.py names them.
LOG_LEVELS = {
    "trace": "trace", "debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
    "err": "error", "error": "error",
}  # fmt: skip
_TOP_LEVEL = {
    "storage", "listener", "default_lease_ttl", "max_lease_ttl", "max_request_size",
    "cluster_name", "ui", "disable_mlock", "api_addr", "cluster_addr", "log_level", "log_format",
    "revocation", "telemetry", "node_dead_after", "login_rate_limit", "ui_idle_timeout",
}  # fmt: skip
# Settings that did something once and now do nothing: a file that sets one still loads, with
# any value, and the server warns at start-up that it can go (run.py). Each with what the
# server does instead.
RETIRED = {
    "aws_call_processes": "AWS calls run in the server process",
}
_LISTENER_KEYS = {
    "address", "tls_disable", "tls_cert_file", "tls_key_file", "max_request_size", "telemetry",
    "http_read_header_timeout", "http_read_timeout", "http_idle_timeout", "allowed_hosts",
    "allowed_origins", "disable_unauthed_rekey_endpoints",
    "disable_unauthed_generate_root_endpoints",
}  # fmt: skip
# Vault's listener defaults, in seconds: the wait for a request's headers, for its body, and
# for the next request on a kept-alive connection (server/listener.py says how they apply).
HTTP_TIMEOUTS = {
    "http_read_header_timeout": 10, "http_read_timeout": 30, "http_idle_timeout": 300,
}  # fmt: skip
# The host names a loopback listener answers to unless `allowed_hosts` says otherwise: a web
# page that rebinds its own name to 127.0.0.1 sends that name, not one of these.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_LISTENER_TELEMETRY_KEYS = {"unauthenticated_metrics_access"}
# Vault's top-level telemetry settings we accept so its configuration files load unchanged.
# They change nothing: the Prometheus exposition is always on and kept in memory.
_TELEMETRY_KEYS = {"prometheus_retention_time", "disable_hostname", "usage_gauge_period"}
LOG_FORMATS = ("standard", "json")
_REVOCATION_KEYS = {"max_attempts", "initial_backoff", "max_backoff", "workers", "batch"}
_LOGIN_LIMIT_KEYS = {"failures_per_minute", "burst", "max_addresses", "disable"}
DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024
DEFAULT_NODE_DEAD_AFTER = 30
# A node beats about once a second at best (the ticker's period): below this, one slow tick
# would make a live node look dead to the others.
MIN_NODE_DEAD_AFTER = 3
_ANY_HOST = ("0.0.0.0", "::")
# The web console (docs/ui.md): how long a page may sit without a key press, click or touch
# before it signs out; under a minute would sign people out while they read.
DEFAULT_UI_IDLE_TIMEOUT = 15 * 60
MIN_UI_IDLE_TIMEOUT = 60


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Listener:
    address: str = DEFAULT_ADDRESS
    tls_disable: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # `telemetry { unauthenticated_metrics_access = true }` inside the listener block.
    unauthenticated_metrics_access: bool = False
    http_read_header_timeout: int = HTTP_TIMEOUTS["http_read_header_timeout"]
    http_read_timeout: int = HTTP_TIMEOUTS["http_read_timeout"]
    http_idle_timeout: int = HTTP_TIMEOUTS["http_idle_timeout"]
    # Host names requests may be addressed to (`Host`), lower case, IPv6 without brackets;
    # None: the default, `answers_to`.
    allowed_hosts: tuple[str, ...] | None = None
    # Origins (`scheme://host[:port]`, or "*") besides the server's own that browsers may
    # send requests from.
    allowed_origins: tuple[str, ...] = ()
    # OpenBao's (2.5+) switches for Vault's token-less `sys/rekey/*` and `sys/generate-root/*`
    # (core/unauthed.py): off unless set to false, as OpenBao's defaults.
    disable_unauthed_rekey_endpoints: bool = True
    disable_unauthed_generate_root_endpoints: bool = True

    @property
    def host_port(self) -> tuple[str, int]:
        host, sep, port = self.address.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"listener address {self.address!r} must be HOST:PORT")
        # As Vault (Go): an empty host, e.g. ":8200", listens on every interface.
        return host.strip("[]") or "0.0.0.0", int(port)

    @property
    def answers_to(self) -> tuple[str, ...] | None:
        """The host names this listener answers to; None: any. A loopback listener answers to
        loopback names only unless `allowed_hosts` is set (DNS rebinding: a web page can point
        its own name at 127.0.0.1, but then sends its own name as `Host`)."""
        if self.allowed_hosts is not None:
            return None if "*" in self.allowed_hosts else self.allowed_hosts
        host = self.host_port[0].lower()
        if host == "localhost" or _is_loopback(host):
            return tuple(dict.fromkeys((*LOOPBACK_HOSTS, host)))
        return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RevocationSettings:
    """The `revocation` block: how hard the expiry worker tries before a lease is irrevocable."""

    max_attempts: int = 6
    initial_backoff: int = 10
    max_backoff: int = 3600
    workers: int = 16
    batch: int = 200


@dataclass(frozen=True)
class ServerConfig:
    storage_type: str = "inmem"
    storage: dict[str, str] = field(default_factory=dict)
    listener: Listener = field(default_factory=Listener)
    default_lease_ttl: int = DEFAULT_TTL
    max_lease_ttl: int = DEFAULT_TTL
    max_request_size: int = 32 * 1024 * 1024
    cluster_name: str = "awsbroker"
    log_level: str = "info"
    log_format: str = "standard"
    revocation: RevocationSettings = field(default_factory=RevocationSettings)
    # The `RETIRED` settings the file sets, which the server ignores and warns of.
    retired: tuple[str, ...] = ()
    # What this node gives as its addresses in `sys/ha-status` and `sys/leader` (Vault's
    # names); an empty api_addr is derived from the listener (`default_api_addr`).
    api_addr: str = ""
    cluster_addr: str = ""
    # Seconds after its last heartbeat that a node counts as dead (core/nodes.py).
    node_dead_after: int = DEFAULT_NODE_DEAD_AFTER
    login_rate_limit: LoginRateLimit = field(default_factory=LoginRateLimit)
    # `ui = false` turns the web console off (404 under /ui/); on unless said (docs/ui.md says
    # why this differs from Vault's default).
    ui: bool = True
    ui_idle_timeout: int = DEFAULT_UI_IDLE_TIMEOUT


def default_api_addr(listener: Listener, hostname: str) -> str:
    """The URL the listener serves at: its scheme and address, with `hostname` for a listener
    on every interface (an address nobody can connect to)."""
    host, port = listener.host_port
    if host in _ANY_HOST:
        host = hostname
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 address
    scheme = "http" if listener.tls_disable else "https"
    return f"{scheme}://{host}:{port}"


def load(path: str) -> ServerConfig:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    return parse(text, source=path)


def parse(text: str, source: str = "configuration") -> ServerConfig:
    options = SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    try:
        tree = hcl2.loads(text, serialization_options=options)
    except Exception as exc:
        raise ConfigError(f"{source} is not valid HCL: {exc}") from None
    unknown = sorted(set(tree) - _TOP_LEVEL - RETIRED.keys())
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}")
    storage_type, storage = _block(tree, "storage", source, required=True)
    if storage_type not in STORAGE_TYPES:
        raise ConfigError(
            f"{source}: storage {storage_type!r} is not one of {', '.join(STORAGE_TYPES)}"
        )
    _check_storage(storage_type, storage, source)
    listener_type, listener = _block(tree, "listener", source, required=False)
    if listener_type not in ("", "tcp"):
        raise ConfigError(f"{source}: only a 'tcp' listener is supported")
    unknown = sorted(set(listener) - _LISTENER_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown listener setting(s) {', '.join(unknown)}")
    top_size = _int(tree, "max_request_size", source, DEFAULT_MAX_REQUEST_SIZE)
    config = ServerConfig(
        storage_type=storage_type,
        storage=storage,
        listener=_listener(
            listener, _listener_raw(tree), _listener_telemetry(tree, source), source
        ),
        default_lease_ttl=_duration(tree, "default_lease_ttl", source, DEFAULT_TTL),
        max_lease_ttl=_duration(tree, "max_lease_ttl", source, DEFAULT_TTL),
        # Vault sets it in the listener block; the top-level spelling is kept as an alias.
        max_request_size=_int(listener, "max_request_size", source, top_size),
        revocation=_revocation(tree, source),
        cluster_name=str(tree.get("cluster_name", "awsbroker")),
        log_level=_log_level(tree, source),
        log_format=_log_format(tree, source),
        retired=tuple(sorted(RETIRED.keys() & tree.keys())),
        api_addr=_url(tree, "api_addr", source, "https://broker-1.example.com:8200"),
        cluster_addr=_url(tree, "cluster_addr", source, "https://broker-1.example.com:8201"),
        node_dead_after=_node_dead_after(tree, source),
        login_rate_limit=_login_rate_limit(tree, source),
        ui=_ui(tree, source),
        ui_idle_timeout=_ui_idle_timeout(tree, source),
    )
    _check_telemetry(tree, source)
    if config.default_lease_ttl > config.max_lease_ttl:
        raise ConfigError(f"{source}: default_lease_ttl cannot be greater than max_lease_ttl")
    return config


def _block(
    tree: dict[str, object], name: str, source: str, *, required: bool
) -> tuple[str, dict[str, str]]:
    blocks = tree.get(name)
    if blocks is None:
        if required:
            raise ConfigError(
                f'{source}: a {name} block is required, e.g. {name} "sqlite" {{ path = "..." }}'
            )
        return "", {}
    if not isinstance(blocks, list) or len(blocks) != 1 or not isinstance(blocks[0], dict):
        raise ConfigError(f"{source}: exactly one {name} block is allowed")
    # A labelled block reads as {label: {body}}; an unlabelled one as its bare attributes.
    labelled = [(k, v) for k, v in blocks[0].items() if isinstance(v, dict)]
    if len(labelled) != 1 or len(blocks[0]) != 1:
        example = "sqlite" if name == "storage" else "tcp"
        raise ConfigError(
            f'{source}: the {name} block needs a type, e.g. {name} "{example}" {{ ... }}'
        )
    ((label, body),) = labelled
    return str(label), {
        str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in body.items()
    }


def _check_storage(storage_type: str, storage: dict[str, str], source: str) -> None:
    if storage_type == "sqlite" and not storage.get("path"):
        raise ConfigError(
            f'{source}: storage "sqlite" needs path = "/var/lib/awsbroker/awsbroker.db"'
        )
    if storage_type == "postgresql" and not storage.get("connection_url"):
        raise ConfigError(
            f'{source}: storage "postgresql" needs connection_url = "postgresql://..."'
        )


def _listener(
    body: dict[str, str], raw: Mapping[str, object], open_metrics: bool, source: str
) -> Listener:
    try:
        tls_disable = parse_bool(body.get("tls_disable", "false"))
    except ValueError:
        raise ConfigError(f"{source}: listener tls_disable must be true or false") from None
    timeouts = {key: _timeout(body, key, source) for key in HTTP_TIMEOUTS}
    hosts = _names(raw, "allowed_hosts", source)
    listener = Listener(
        address=body.get("address", DEFAULT_ADDRESS),
        tls_disable=tls_disable,
        tls_cert_file=body.get("tls_cert_file", ""),
        tls_key_file=body.get("tls_key_file", ""),
        unauthenticated_metrics_access=open_metrics,
        allowed_hosts=None if hosts is None else tuple(_host(h, source) for h in hosts),
        allowed_origins=tuple(
            _origin(o, source) for o in _names(raw, "allowed_origins", source) or ()
        ),
        disable_unauthed_rekey_endpoints=_switch(body, "disable_unauthed_rekey_endpoints", source),
        disable_unauthed_generate_root_endpoints=_switch(
            body, "disable_unauthed_generate_root_endpoints", source
        ),
        **timeouts,
    )
    listener.host_port  # noqa: B018 - validates the address now, not at bind time
    if not tls_disable and not (listener.tls_cert_file and listener.tls_key_file):
        raise ConfigError(
            f"{source}: the listener needs tls_cert_file and tls_key_file, or tls_disable = true"
        )
    return listener


def _switch(body: Mapping[str, str], key: str, source: str) -> bool:
    """A listener `disable_unauthed_*` switch: true unless the file says false."""
    try:
        return parse_bool(body.get(key, "true"))
    except ValueError:
        raise ConfigError(f"{source}: listener {key} must be true or false") from None


def _timeout(body: Mapping[str, str], key: str, source: str) -> int:
    if key not in body:
        return HTTP_TIMEOUTS[key]
    try:
        seconds = parse_duration(body[key])
    except ValueError as exc:
        raise ConfigError(f"{source}: listener {key}: {exc}") from None
    if seconds < 1:
        # Vault reads 0 as "no limit" (or another setting's); unbounded waits are what let
        # idle connections pile up, so there is always one.
        raise ConfigError(f"{source}: listener {key} must be at least 1s")
    return seconds


def _names(raw: Mapping[str, object], key: str, source: str) -> list[str] | None:
    """A list setting, as a list of strings or one comma-separated string; None if absent."""
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: listener {key} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def _host(name: str, source: str) -> str:
    """A host name as `Host` headers are compared with it: lower case, IPv6 unbracketed."""
    host = name.lower().rstrip(".")
    if host == "*":
        return host
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.IPv6Address(bare))
    except ValueError:
        pass
    if not host or any(c in host for c in ":/@ []"):
        raise ConfigError(
            f"{source}: listener allowed_hosts: {name!r} is not a host name (give names such "
            'as "broker.example.com" or addresses, without scheme or port)'
        )
    return host


def _origin(value: str, source: str) -> str:
    """`scheme://host[:port]` in lower case, or "*"."""
    if value == "*":
        return value
    parts = urlsplit(value.lower())
    try:
        numeric_port = parts.port is not None or ":" not in parts.netloc.rpartition("]")[2]
    except ValueError:  # not a number, or out of range
        numeric_port = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not numeric_port
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise ConfigError(
            f"{source}: listener allowed_origins: {value!r} is not an origin such as "
            '"https://console.example.com" or "http://localhost:3000"'
        )
    return f"{parts.scheme}://{parts.netloc}"


def _sub_block(value: object, name: str, source: str) -> dict[str, object]:
    """The body of an unlabelled block such as `telemetry { ... }` (at most one)."""
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise ConfigError(f"{source}: at most one {name} block is allowed, with settings inside")
    return {str(k): v for k, v in value[0].items()}


def _listener_raw(tree: dict[str, object]) -> dict[str, object]:
    """The listener block's settings as parsed (lists stay lists); `_block` checked its shape."""
    blocks = tree.get("listener")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        return {}
    bodies = [b for b in blocks[0].values() if isinstance(b, dict)]
    return {str(k): v for k, v in bodies[0].items()} if bodies else {}


def _listener_telemetry(tree: dict[str, object], source: str) -> bool:
    """`listener "tcp" { telemetry { unauthenticated_metrics_access = true } }`."""
    raw = _listener_raw(tree)
    if "telemetry" not in raw:
        return False
    body = _sub_block(raw["telemetry"], "listener telemetry", source)
    unknown = sorted(set(body) - _LISTENER_TELEMETRY_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown listener telemetry setting(s) {', '.join(unknown)}")
    try:
        return parse_bool(body.get("unauthenticated_metrics_access", False))
    except ValueError:
        raise ConfigError(
            f"{source}: unauthenticated_metrics_access must be true or false"
        ) from None


def _check_telemetry(tree: dict[str, object], source: str) -> None:
    if "telemetry" not in tree:
        return
    body = _sub_block(tree["telemetry"], "telemetry", source)
    if "unauthenticated_metrics_access" in body:
        raise ConfigError(
            f"{source}: unauthenticated_metrics_access belongs in the listener block: "
            'listener "tcp" { telemetry { unauthenticated_metrics_access = true } }'
        )
    unknown = sorted(set(body) - _TELEMETRY_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown telemetry setting(s) {', '.join(unknown)}")


def _log_format(tree: dict[str, object], source: str) -> str:
    value = str(tree.get("log_format", "standard")).lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"{source}: log_format must be one of {', '.join(LOG_FORMATS)}")
    return value


def _duration(tree: Mapping[str, object], key: str, source: str, default: int) -> int:
    if key not in tree:
        return default
    try:
        return parse_duration(tree[key]) or default
    except ValueError as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None


def _ui(tree: Mapping[str, object], source: str) -> bool:
    try:
        return parse_bool(tree.get("ui", True))
    except ValueError:
        raise ConfigError(f"{source}: ui must be true or false") from None


def _ui_idle_timeout(tree: Mapping[str, object], source: str) -> int:
    if "ui_idle_timeout" not in tree:
        return DEFAULT_UI_IDLE_TIMEOUT
    try:
        seconds = parse_duration(tree["ui_idle_timeout"])
    except ValueError as exc:
        raise ConfigError(f"{source}: ui_idle_timeout: {exc}") from None
    if seconds < MIN_UI_IDLE_TIMEOUT:
        raise ConfigError(f"{source}: ui_idle_timeout must be at least 1m")
    return seconds


def _log_level(tree: dict[str, object], source: str) -> str:
    level = str(tree.get("log_level", "info")).lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{source}: log_level must be one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS[level]


def _revocation(tree: dict[str, object], source: str) -> RevocationSettings:
    if "revocation" not in tree:
        return RevocationSettings()
    if not isinstance(tree["revocation"], list) or len(tree["revocation"]) != 1:
        raise ConfigError(f"{source}: at most one revocation block is allowed")
    body = tree["revocation"][0]
    if not isinstance(body, dict):
        raise ConfigError(f"{source}: the revocation block takes settings, e.g. max_attempts = 6")
    unknown = sorted(set(body) - _REVOCATION_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown revocation setting(s) {', '.join(unknown)}")
    defaults = RevocationSettings()
    return RevocationSettings(
        max_attempts=_int(body, "max_attempts", f"{source}: revocation", defaults.max_attempts),
        initial_backoff=_duration(body, "initial_backoff", f"{source}: revocation", 10) or 10,
        max_backoff=_duration(body, "max_backoff", f"{source}: revocation", 3600) or 3600,
        workers=_int(body, "workers", f"{source}: revocation", defaults.workers),
        batch=_int(body, "batch", f"{source}: revocation", defaults.batch),
    )


def _login_rate_limit(tree: dict[str, object], source: str) -> LoginRateLimit:
    """`login_rate_limit { failures_per_minute = 10  burst = 20  max_addresses = 100000 }`."""
    if "login_rate_limit" not in tree:
        return LoginRateLimit()
    body = _sub_block(tree["login_rate_limit"], "login_rate_limit", source)
    unknown = sorted(set(body) - _LOGIN_LIMIT_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown login_rate_limit setting(s) {', '.join(unknown)}")
    where = f"{source}: login_rate_limit"
    defaults = LoginRateLimit()
    rate = body.get("failures_per_minute", defaults.failures_per_minute)
    if isinstance(rate, str):
        with contextlib.suppress(ValueError):
            rate = float(rate)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 60_000:
        raise ConfigError(f"{where}: failures_per_minute must be a number above 0, e.g. 10")
    try:
        disable = parse_bool(body.get("disable", False))
    except ValueError:
        raise ConfigError(f"{where}: disable must be true or false") from None
    return LoginRateLimit(
        failures_per_minute=float(rate),
        burst=_int(body, "burst", where, defaults.burst),
        max_addresses=_int(body, "max_addresses", where, defaults.max_addresses),
        disable=disable,
    )


def _url(tree: Mapping[str, object], key: str, source: str, example: str) -> str:
    value = str(tree.get(key, "")).strip()
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ConfigError(f"{source}: {key} must be a URL such as {example}, not {value!r}")
    return value


def _node_dead_after(tree: Mapping[str, object], source: str) -> int:
    seconds = _duration(tree, "node_dead_after", source, DEFAULT_NODE_DEAD_AFTER)
    if seconds < MIN_NODE_DEAD_AFTER:
        raise ConfigError(f"{source}: node_dead_after must be at least {MIN_NODE_DEAD_AFTER}s")
    return seconds


def _int(tree: Mapping[str, object], key: str, source: str, default: int) -> int:
    value = tree.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        unit = "number of bytes" if key == "max_request_size" else "whole number"
        raise ConfigError(f"{source}: {key} must be a positive {unit}")
    return value
