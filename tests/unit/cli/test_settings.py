from __future__ import annotations

import stat
from pathlib import Path

import pytest

from awsbroker.cli.errors import UsageError
from awsbroker.cli.flags import parse
from awsbroker.cli.settings import (
    DEFAULT_ADDRESS,
    connection_flags,
    resolve,
    token_file,
    write_token_file,
)


def settings(env: dict[str, str], *argv: str):  # type: ignore[no-untyped-def]
    return resolve(env, parse(list(argv), connection_flags()))


def test_address_order(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert settings(home).address == DEFAULT_ADDRESS
    assert settings({**home, "VAULT_ADDR": "http://v/"}).address == "http://v"
    both = {**home, "VAULT_ADDR": "http://v", "AWSBROKER_ADDR": "http://a"}
    assert settings(both).address == "http://a"
    assert settings(both, "-address=http://f").address == "http://f"
    assert settings(both, "-address=http://f").address_source == "-address"


def test_token_order_and_file(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert settings(env).token == ""
    write_token_file(tmp_path / ".awsbroker-token", "from-file\n")
    assert stat.S_IMODE((tmp_path / ".awsbroker-token").stat().st_mode) == 0o600
    assert settings(env).token == "from-file"
    assert "token file" in settings(env).token_source
    assert settings({**env, "VAULT_TOKEN": "v"}).token == "v"
    assert settings({**env, "VAULT_TOKEN": "v", "AWSBROKER_TOKEN": "a"}).token == "a"
    other = tmp_path / "elsewhere"
    assert token_file({**env, "AWSBROKER_TOKEN_FILE": str(other)}) == other


def test_tls_settings(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "VAULT_CACERT": "/ca.pem", "VAULT_SKIP_VERIFY": "true"}
    resolved = settings(env)
    assert resolved.ca_cert == "/ca.pem"
    assert resolved.skip_verify is True
    assert settings({"HOME": str(tmp_path)}, "-ca-cert=/x", "-tls-skip-verify").ca_cert == "/x"
    with pytest.raises(UsageError):
        settings({"HOME": str(tmp_path), "AWSBROKER_SKIP_VERIFY": "perhaps"})
