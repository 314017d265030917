"""The HCL configuration file: what it accepts, and errors that say what to change."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from awsbroker.core.login_limits import LoginRateLimit
from awsbroker.server import run
from awsbroker.server.config import (
    DEFAULT_ADDRESS,
    DEFAULT_TTL,
    ConfigError,
    Listener,
    ServerConfig,
    default_api_addr,
    load,
    parse,
)

LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}\n'
INMEM = 'storage "inmem" {}\n'


def config(text: str) -> ServerConfig:
    return parse(text, source="test.hcl")


def error(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse(text, source="test.hcl")
    return str(err.value)


# ---- what is accepted --------------------------------------------------------------------------


def test_minimal_config_takes_the_defaults() -> None:
    c = config(INMEM + LISTENER)
    assert c.storage_type == "inmem"
    assert c.storage == {}
    assert c.listener == Listener(address="127.0.0.1:8200", tls_disable=True)
    assert c.default_lease_ttl == c.max_lease_ttl == DEFAULT_TTL == 2_764_800
    assert c.max_request_size == 32 * 1024 * 1024
    assert c.cluster_name == "awsbroker"
    assert c.log_level == "info"
    assert (c.api_addr, c.cluster_addr) == ("", "")  # api_addr: derived from the listener
    assert c.node_dead_after == 30


def test_full_config() -> None:
    c = config(
        """
        storage "postgresql" {
          connection_url = "postgresql://u:p@db/awsbroker"
          table          = "kv"
          ha_enabled     = false
        }
        listener "tcp" {
          address       = "0.0.0.0:8443"
          tls_cert_file = "/etc/cert.pem"
          tls_key_file  = "/etc/key.pem"
        }
        default_lease_ttl = "1h"
        max_lease_ttl     = 7200
        max_request_size  = 1024
        cluster_name      = "prod"
        log_level         = "DEBUG"
        ui                = false
        disable_mlock     = true
        api_addr          = "https://broker:8443"
        log_format        = "json"
        """
    )
    assert c.storage_type == "postgresql"
    assert c.storage == {
        "connection_url": "postgresql://u:p@db/awsbroker",
        "table": "kv",
        "ha_enabled": "false",
    }
    assert c.listener == Listener("0.0.0.0:8443", False, "/etc/cert.pem", "/etc/key.pem")
    assert c.listener.host_port == ("0.0.0.0", 8443)
    assert (c.default_lease_ttl, c.max_lease_ttl) == (3600, 7200)
    assert c.max_request_size == 1024
    assert c.cluster_name == "prod"
    assert c.log_level == "debug"
    assert c.api_addr == "https://broker:8443"


def test_sqlite_storage() -> None:
    c = config('storage "sqlite" { path = "/var/lib/awsbroker/db" }\n' + LISTENER)
    assert c.storage == {"path": "/var/lib/awsbroker/db"}


@pytest.mark.parametrize("value", ["true", '"true"', '"1"', "1"])
def test_tls_disable_forms(value: str) -> None:
    c = config(INMEM + f'listener "tcp" {{\n  tls_disable = {value}\n}}\n')
    assert c.listener.tls_disable is True
    assert c.listener.address == DEFAULT_ADDRESS


def test_zero_ttls_mean_the_default() -> None:
    c = config(INMEM + LISTENER + 'default_lease_ttl = "0s"\nmax_lease_ttl = 0\n')
    assert c.default_lease_ttl == c.max_lease_ttl == DEFAULT_TTL


def test_comments_are_allowed() -> None:
    assert config("# a comment\n" + INMEM + "// another\n" + LISTENER).storage_type == "inmem"


@pytest.mark.parametrize(
    ("address", "host_port"),
    [
        ("127.0.0.1:8200", ("127.0.0.1", 8200)),
        ("[::1]:8200", ("::1", 8200)),
        ("localhost:1", ("localhost", 1)),
        (":8200", ("0.0.0.0", 8200)),  # as Go: an empty host is every interface
    ],
)
def test_listener_host_port(address: str, host_port: tuple[str, int]) -> None:
    assert Listener(address).host_port == host_port


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "awsbroker.hcl"
    path.write_text(INMEM + LISTENER)
    assert load(str(path)).storage_type == "inmem"


# ---- every error says what to change -----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.hcl"
    with pytest.raises(ConfigError) as err:
        load(str(missing))
    assert str(err.value) == f"cannot read configuration file {missing}: No such file or directory"


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.hcl"
    path.write_text(LISTENER)
    with pytest.raises(ConfigError, match=f"^{path}: a storage block is required"):
        load(str(path))


def test_invalid_hcl() -> None:
    assert error('storage "inmem" {').startswith("test.hcl is not valid HCL: ")


def test_unknown_settings_are_listed() -> None:
    message = error(INMEM + LISTENER + "seal = 1\nplugin_directory = 2\n")
    assert message == "test.hcl: unknown setting(s) plugin_directory, seal"


def test_storage_is_required_with_an_example() -> None:
    message = error(LISTENER)
    assert (
        message == 'test.hcl: a storage block is required, e.g. storage "sqlite" { path = "..." }'
    )


@pytest.mark.parametrize(
    "text",
    [
        'storage "inmem" {}\nstorage "sqlite" { path = "x" }\n',
        'storage = "inmem"\n',
    ],
)
def test_exactly_one_storage_block(text: str) -> None:
    assert error(text + LISTENER) == "test.hcl: exactly one storage block is allowed"


@pytest.mark.parametrize(
    "text",
    [
        'storage { path = "x" }\n',
        'storage {\n  path = "x"\n  table = "y"\n}\n',
        "storage {}\n",
    ],
)
def test_storage_block_needs_a_type_label(text: str) -> None:
    message = error(text + LISTENER)
    assert message == 'test.hcl: the storage block needs a type, e.g. storage "sqlite" { ... }'


def test_unknown_storage_type() -> None:
    message = error('storage "consul" {}\n' + LISTENER)
    assert message == "test.hcl: storage 'consul' is not one of inmem, sqlite, postgresql"


def test_sqlite_needs_a_path() -> None:
    message = error('storage "sqlite" {}\n' + LISTENER)
    assert message == 'test.hcl: storage "sqlite" needs path = "/var/lib/awsbroker/awsbroker.db"'
    assert "needs path" in error('storage "sqlite" { path = "" }\n' + LISTENER)


def test_postgresql_needs_a_connection_url() -> None:
    message = error('storage "postgresql" { table = "t" }\n' + LISTENER)
    assert message == 'test.hcl: storage "postgresql" needs connection_url = "postgresql://..."'


def test_only_tcp_listeners() -> None:
    message = error(INMEM + 'listener "unix" { address = "/run/a.sock" }\n')
    assert message == "test.hcl: only a 'tcp' listener is supported"


def test_only_one_listener() -> None:
    message = error(INMEM + LISTENER + LISTENER)
    assert message == "test.hcl: exactly one listener block is allowed"


def test_tls_disable_must_be_a_boolean() -> None:
    message = error(INMEM + 'listener "tcp" { tls_disable = "yes" }\n')
    assert message == "test.hcl: listener tls_disable must be true or false"


@pytest.mark.parametrize("address", ["localhost", "host:http", "host:0", "host:65536", "host:"])
def test_listener_address_must_be_host_port(address: str) -> None:
    message = error(INMEM + f'listener "tcp" {{\n  address = "{address}"\n  tls_disable = 1\n}}\n')
    assert message == f"listener address {address!r} must be HOST:PORT"


def test_tls_needs_both_files_or_tls_disable() -> None:
    expected = "test.hcl: the listener needs tls_cert_file and tls_key_file, or tls_disable = true"
    assert error(INMEM + 'listener "tcp" { address = "127.0.0.1:1" }\n') == expected
    assert error(INMEM + 'listener "tcp" { tls_cert_file = "c" }\n') == expected
    assert error(INMEM) == expected


@pytest.mark.parametrize("key", ["default_lease_ttl", "max_lease_ttl"])
def test_bad_durations(key: str) -> None:
    message = error(INMEM + LISTENER + f'{key} = "forever"\n')
    assert message.startswith(f"test.hcl: {key}: invalid duration 'forever'")
    assert "'1h30m'" in message
    assert error(INMEM + LISTENER + f'{key} = "-1h"\n') == (
        f"test.hcl: {key}: a duration cannot be negative"
    )


@pytest.mark.parametrize("value", ["0", "-5", "true", "1.5"])
def test_max_request_size_must_be_a_positive_integer(value: str) -> None:
    message = error(INMEM + LISTENER + f"max_request_size = {value}\n")
    assert message == "test.hcl: max_request_size must be a positive number of bytes"


def test_max_request_size_in_the_listener_wins_over_the_top_level_one() -> None:
    listener = LISTENER.replace("}\n", "  max_request_size = 2048\n}\n")
    assert config(INMEM + listener + "max_request_size = 1024\n").max_request_size == 2048
    assert config(INMEM + LISTENER + "max_request_size = 1024\n").max_request_size == 1024


def test_default_ttl_cannot_exceed_max() -> None:
    message = error(INMEM + LISTENER + 'default_lease_ttl = "2h"\nmax_lease_ttl = "1h"\n')
    assert message == "test.hcl: default_lease_ttl cannot be greater than max_lease_ttl"
    only_default = error(INMEM + LISTENER + 'default_lease_ttl = "1000h"\n')
    assert only_default == "test.hcl: default_lease_ttl cannot be greater than max_lease_ttl"


def test_listener_block_needs_a_type_label() -> None:
    message = error(INMEM + 'listener {\n  address = "127.0.0.1:1"\n  tls_disable = true\n}\n')
    assert message == 'test.hcl: the listener block needs a type, e.g. listener "tcp" { ... }'


def test_max_request_size_in_the_listener_block_wins() -> None:
    listener = (
        'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n'
        "  max_request_size = 2048\n}\n"
    )
    assert parse(INMEM + listener + "max_request_size = 4096\n").max_request_size == 2048
    assert parse(INMEM + LISTENER + "max_request_size = 4096\n").max_request_size == 4096


def test_unknown_listener_setting_is_refused() -> None:
    listener = (
        'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n'
        '  tls_cert_flie = "x"\n}\n'
    )
    assert error(INMEM + listener) == "test.hcl: unknown listener setting(s) tls_cert_flie"


def test_revocation_block() -> None:
    config = parse(
        INMEM
        + LISTENER
        + 'revocation {\n  max_attempts = 3\n  initial_backoff = "2s"\n  workers = 4\n}\n'
    )
    assert config.revocation.max_attempts == 3
    assert config.revocation.initial_backoff == 2
    assert config.revocation.workers == 4
    assert config.revocation.max_backoff == 3600
    assert parse(INMEM + LISTENER).revocation.max_attempts == 6
    assert error(INMEM + LISTENER + "revocation {\n  retries = 3\n}\n") == (
        "test.hcl: unknown revocation setting(s) retries"
    )
    assert error(INMEM + LISTENER + "revocation {\n  workers = 0\n}\n") == (
        "test.hcl: revocation: workers must be a positive whole number"
    )


@pytest.mark.parametrize("value", ["0", "3", "-1", "true", '"many"'])
def test_aws_call_processes_is_retired_and_any_value_still_loads(value: str) -> None:
    """The helper processes are gone: a file from before still loads, and the server warns."""
    assert config(INMEM + LISTENER).retired == ()
    assert config(INMEM + LISTENER + f"aws_call_processes = {value}\n").retired == (
        "aws_call_processes",
    )


@pytest.mark.parametrize(
    ("in_file", "flag", "named"),
    [
        (True, None, ["aws_call_processes"]),
        (False, "2", ["--aws-call-processes"]),
        (True, "many", ["aws_call_processes and --aws-call-processes"]),
        (False, None, []),
    ],
)
def test_a_retired_setting_makes_one_warning_line_at_start_up(
    in_file: bool, flag: str | None, named: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    retired = ("aws_call_processes",) if in_file else ()
    args = run.parser().parse_args(["--dev", *(["--aws-call-processes", flag] if flag else [])])
    with caplog.at_level(logging.WARNING, logger="awsbroker.server"):
        run.warn_retired(ServerConfig(retired=retired), args)
    why = ": no longer used and can be removed (AWS calls run in the server process)"
    assert [r.getMessage() for r in caplog.records] == [name + why for name in named]


def test_api_and_cluster_addresses() -> None:
    c = config(
        INMEM + LISTENER + 'api_addr = "https://broker-1.example.com:8200"\n'
        'cluster_addr = "https://broker-1.example.com:8201"\n'
    )
    assert c.api_addr == "https://broker-1.example.com:8200"
    assert c.cluster_addr == "https://broker-1.example.com:8201"


@pytest.mark.parametrize("key", ["api_addr", "cluster_addr"])
@pytest.mark.parametrize("value", ["broker:8200", "ftp://broker", "https://", "https:///x"])
def test_addresses_must_be_urls(key: str, value: str) -> None:
    port = 8201 if key == "cluster_addr" else 8200
    assert error(INMEM + LISTENER + f'{key} = "{value}"\n') == (
        f"test.hcl: {key} must be a URL such as https://broker-1.example.com:{port}, not {value!r}"
    )


@pytest.mark.parametrize(
    ("address", "tls_disable", "expected"),
    [
        ("127.0.0.1:8200", True, "http://127.0.0.1:8200"),
        ("10.0.0.5:8443", False, "https://10.0.0.5:8443"),
        ("0.0.0.0:8200", True, "http://node-7:8200"),
        ("[::]:8200", False, "https://node-7:8200"),
        (":8200", True, "http://node-7:8200"),
        ("[::1]:8200", True, "http://[::1]:8200"),
        ("broker.internal:8200", False, "https://broker.internal:8200"),
    ],
)
def test_the_default_api_addr_is_the_listeners_url(
    address: str, tls_disable: bool, expected: str
) -> None:
    listener = Listener(address=address, tls_disable=tls_disable)
    assert default_api_addr(listener, "node-7") == expected


def test_node_dead_after() -> None:
    assert config(INMEM + LISTENER + 'node_dead_after = "1m"\n').node_dead_after == 60
    assert config(INMEM + LISTENER + "node_dead_after = 3\n").node_dead_after == 3
    for value in ('"2s"', "1", '"fast"'):
        message = error(INMEM + LISTENER + f"node_dead_after = {value}\n")
        assert message.startswith("test.hcl: node_dead_after"), message
    assert error(INMEM + LISTENER + 'node_dead_after = "2s"\n') == (
        "test.hcl: node_dead_after must be at least 3s"
    )


# ---- the listener's HTTP timeouts (Vault's names and defaults) -------------------------------


def listener_with(*settings: str) -> str:
    body = "".join(f"  {setting}\n" for setting in settings)
    return f'listener "tcp" {{\n  address = "127.0.0.1:8200"\n  tls_disable = true\n{body}}}\n'


def test_http_timeouts_default_to_vaults() -> None:
    listener = config(INMEM + LISTENER).listener
    assert listener.http_read_header_timeout == 10
    assert listener.http_read_timeout == 30
    assert listener.http_idle_timeout == 300


def test_http_timeouts_are_durations() -> None:
    listener = config(
        INMEM
        + listener_with(
            'http_read_header_timeout = "5s"', 'http_read_timeout = "1m"', "http_idle_timeout = 90"
        )
    ).listener
    assert (listener.http_read_header_timeout, listener.http_read_timeout) == (5, 60)
    assert listener.http_idle_timeout == 90


@pytest.mark.parametrize(
    "key", ["http_read_header_timeout", "http_read_timeout", "http_idle_timeout"]
)
def test_http_timeouts_are_at_least_a_second(key: str) -> None:
    for value in ('"0"', "0", '"500ms"'):
        assert error(INMEM + listener_with(f"{key} = {value}")) == (
            f"test.hcl: listener {key} must be at least 1s"
        )
    message = error(INMEM + listener_with(f'{key} = "soon"'))
    assert message.startswith(f"test.hcl: listener {key}: "), message


# ---- the host names and origins a listener answers (allowed_hosts, allowed_origins) ----------


@pytest.mark.parametrize(
    ("address", "answers_to"),
    [
        ("127.0.0.1:8200", ("localhost", "127.0.0.1", "::1")),
        ("127.0.0.2:8200", ("localhost", "127.0.0.1", "::1", "127.0.0.2")),
        ("[::1]:8200", ("localhost", "127.0.0.1", "::1")),
        ("localhost:8200", ("localhost", "127.0.0.1", "::1")),
        ("0.0.0.0:8200", None),
        (":8200", None),
        ("[::]:8200", None),
        ("10.1.2.3:8200", None),
        ("broker.internal:8200", None),
    ],
)
def test_loopback_listeners_answer_to_loopback_names_and_others_to_any(
    address: str, answers_to: tuple[str, ...] | None
) -> None:
    assert Listener(address=address, tls_disable=True).answers_to == answers_to


def test_allowed_hosts_replace_the_default() -> None:
    listener = config(
        INMEM + listener_with('allowed_hosts = ["Broker.Example.com.", "[::1]", "10.0.0.5"]')
    ).listener
    assert listener.allowed_hosts == ("broker.example.com", "::1", "10.0.0.5")
    assert listener.answers_to == ("broker.example.com", "::1", "10.0.0.5")
    assert config(
        INMEM + listener_with('allowed_hosts = "a.example, b.example"')
    ).listener.answers_to == (
        "a.example",
        "b.example",
    )
    assert config(INMEM + listener_with('allowed_hosts = ["*"]')).listener.answers_to is None
    assert config(INMEM + LISTENER).listener.allowed_hosts is None


@pytest.mark.parametrize("host", ["broker.example.com:8200", "https://broker.example.com", "a b"])
def test_allowed_hosts_are_names_without_scheme_or_port(host: str) -> None:
    assert error(INMEM + listener_with(f'allowed_hosts = ["{host}"]')) == (
        f"test.hcl: listener allowed_hosts: {host!r} is not a host name (give names such as "
        '"broker.example.com" or addresses, without scheme or port)'
    )


def test_allowed_origins() -> None:
    listener = config(
        INMEM
        + listener_with('allowed_origins = ["https://Console.example.com/", "http://[::1]:3000"]')
    ).listener
    assert listener.allowed_origins == ("https://console.example.com", "http://[::1]:3000")
    assert config(INMEM + LISTENER).listener.allowed_origins == ()
    assert config(INMEM + listener_with('allowed_origins = "*"')).listener.allowed_origins == ("*",)


@pytest.mark.parametrize(
    "origin", ["console.example.com", "ftp://x", "https://x/path", "https://x:99999", "https://x:"]
)
def test_allowed_origins_must_be_origins(origin: str) -> None:
    assert error(INMEM + listener_with(f'allowed_origins = ["{origin}"]')) == (
        f"test.hcl: listener allowed_origins: {origin!r} is not an origin such as "
        '"https://console.example.com" or "http://localhost:3000"'
    )
    assert error(INMEM + listener_with("allowed_origins = 5")) == (
        "test.hcl: listener allowed_origins must be a list of strings"
    )


def readme_config() -> str:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme.split("## Running for real", 1)[1]
    return section.split("```hcl\n", 1)[1].split("```", 1)[0]


def test_the_readmes_listener_settings_are_the_defaults_or_mean_what_they_say() -> None:
    text = readme_config()
    as_given = parse(text, source="README").listener
    assert as_given.answers_to == ("localhost", "127.0.0.1", "::1")  # a loopback address
    assert as_given.allowed_origins == ()
    settings = ("allowed_hosts", "allowed_origins", "http_read_header_timeout", "http_read_timeout")
    uncommented = re.sub(rf"(?m)^(\s*)# ({'|'.join(settings)})\b", r"\1\2", text)
    listener = parse(uncommented, source="README").listener
    assert listener.answers_to == ("broker.example.com",)
    assert listener.allowed_origins == ("https://console.example.com",)
    assert (listener.http_read_header_timeout, listener.http_read_timeout) == (10, 30)
    assert (listener.http_read_header_timeout, listener.http_read_timeout) == (
        as_given.http_read_header_timeout,
        as_given.http_read_timeout,
    )


def test_login_rate_limit_block() -> None:
    defaults = parse(INMEM + LISTENER).login_rate_limit
    assert (defaults.failures_per_minute, defaults.burst, defaults.disable) == (10, 20, False)
    block = "login_rate_limit {\n  failures_per_minute = 2.5\n  burst = 5\n  max_addresses = 9\n}\n"
    limit = parse(INMEM + LISTENER + block).login_rate_limit
    assert (limit.failures_per_minute, limit.burst, limit.max_addresses) == (2.5, 5, 9)
    assert parse(
        INMEM + LISTENER + "login_rate_limit {\n  disable = true\n}\n"
    ).login_rate_limit.disable


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("failures_per_minute = 0", "failures_per_minute must be a number above 0, e.g. 10"),
        ('failures_per_minute = "often"', "failures_per_minute must be a number above 0, e.g. 10"),
        ("burst = 0", "burst must be a positive whole number"),
        ("max_addresses = -5", "max_addresses must be a positive whole number"),
        ('disable = "maybe"', "disable must be true or false"),
    ],
)
def test_login_rate_limit_errors_name_the_setting(setting: str, message: str) -> None:
    text = INMEM + LISTENER + f"login_rate_limit {{\n  {setting}\n}}\n"
    assert error(text) == f"test.hcl: login_rate_limit: {message}"


def test_login_rate_limit_unknown_setting() -> None:
    text = INMEM + LISTENER + "login_rate_limit {\n  per_minute = 3\n}\n"
    assert error(text) == "test.hcl: unknown login_rate_limit setting(s) per_minute"


def test_the_readmes_login_rate_limit_is_the_default() -> None:
    text = readme_config()
    block = re.search(r"(?m)^# login_rate_limit \{\n(?:#.*\n)*?# \}\n", text)
    assert block is not None
    uncommented = re.sub(r"(?m)^# ?", "", block.group(0))
    assert parse(INMEM + LISTENER + uncommented).login_rate_limit == LoginRateLimit()


# ---- the web console ---------------------------------------------------------------------------


def test_the_console_is_on_with_a_fifteen_minute_idle_time_unless_configured() -> None:
    c = config(INMEM + LISTENER)
    assert (c.ui, c.ui_idle_timeout) == (True, 900)
    off = config(INMEM + LISTENER + 'ui = false\nui_idle_timeout = "5m"\n')
    assert (off.ui, off.ui_idle_timeout) == (False, 300)
    assert config(INMEM + LISTENER + "ui = true\nui_idle_timeout = 3600\n").ui_idle_timeout == 3600


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('ui = "maybe"', "test.hcl: ui must be true or false"),
        ('ui_idle_timeout = "30s"', "test.hcl: ui_idle_timeout must be at least 1m"),
        ('ui_idle_timeout = "soon"', "test.hcl: ui_idle_timeout: "),
    ],
)
def test_console_settings_that_cannot_be_used_say_what_to_change(line: str, message: str) -> None:
    assert error(INMEM + LISTENER + line + "\n").startswith(message)
