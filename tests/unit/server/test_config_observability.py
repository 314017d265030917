"""Configuration of logs and telemetry: `log_format`, the listener's `telemetry` block, and
Vault's top-level `telemetry` block (accepted, without effect)."""

from __future__ import annotations

import pytest

from awsbroker.server.config import ConfigError, ServerConfig, parse

INMEM = 'storage "inmem" {}\n'


def listener(extra: str = "") -> str:
    return 'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n' + extra + "}\n"


def config(text: str) -> ServerConfig:
    return parse(text, source="test.hcl")


def error(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse(text, source="test.hcl")
    return str(err.value)


def test_log_format_defaults_to_standard_and_takes_json() -> None:
    assert config(INMEM + listener()).log_format == "standard"
    assert config(INMEM + listener() + 'log_format = "json"\n').log_format == "json"
    assert config(INMEM + listener() + 'log_format = "JSON"\n').log_format == "json"
    assert "log_format must be one of standard, json" in error(
        INMEM + listener() + 'log_format = "xml"\n'
    )


def test_metrics_need_a_token_unless_the_listener_opens_them() -> None:
    assert not config(INMEM + listener()).listener.unauthenticated_metrics_access
    opened = listener("  telemetry {\n    unauthenticated_metrics_access = true\n  }\n")
    c = config(INMEM + opened)
    assert c.listener.unauthenticated_metrics_access
    assert c.listener.address == "127.0.0.1:8200"
    closed = listener('  telemetry {\n    unauthenticated_metrics_access = "false"\n  }\n')
    assert not config(INMEM + closed).listener.unauthenticated_metrics_access


def test_bad_listener_telemetry_is_explained() -> None:
    assert "unknown listener telemetry setting(s) statsd_address" in error(
        INMEM + listener('  telemetry {\n    statsd_address = "x"\n  }\n')
    )
    assert "must be true or false" in error(
        INMEM + listener('  telemetry {\n    unauthenticated_metrics_access = "maybe"\n  }\n')
    )


def test_vaults_top_level_telemetry_block_loads() -> None:
    text = INMEM + listener() + 'telemetry {\n  prometheus_retention_time = "24h"\n'
    text += "  disable_hostname = true\n}\n"
    assert config(text).listener.unauthenticated_metrics_access is False


def test_top_level_telemetry_rejects_what_belongs_in_the_listener() -> None:
    message = error(
        INMEM + listener() + "telemetry {\n  unauthenticated_metrics_access = true\n}\n"
    )
    assert "belongs in the listener block" in message
    assert "unknown telemetry setting(s) dogstatsd_addr" in error(
        INMEM + listener() + 'telemetry {\n  dogstatsd_addr = "x"\n}\n'
    )
