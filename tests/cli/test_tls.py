"""TLS: the CA from -ca-cert, AWSBROKER_CACERT or VAULT_CACERT; -tls-skip-verify or
VAULT_SKIP_VERIFY for development; and an untrusted certificate explained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_tls import self_signed
from tests.support.cli import CLI
from tests.support.server import ServerProcess, config_server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("tls")
    files = self_signed(workdir)
    server = config_server(workdir, "sqlite", {"path": str(workdir / "s.db")}, tls=files)
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_trust_comes_from_the_ca_flag_or_variables(tls: ServerProcess, tmp_path: Path) -> None:
    assert tls.ca_cert is not None
    ca = str(tls.ca_cert)
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": tls.url})
    untrusted = cli.run("operator", "init", "-status")
    assert untrusted.returncode == 2
    assert "-ca-cert" in untrusted.stderr
    for extra, env in [
        (["-ca-cert", ca], {}),
        ([], {"AWSBROKER_CACERT": ca}),
        ([], {"VAULT_CACERT": ca}),
        (["-tls-skip-verify"], {}),
        ([], {"VAULT_SKIP_VERIFY": "true"}),
    ]:
        result = cli.run("operator", "init", "-status", *extra, env=env)
        assert result.returncode == 2, (extra, env, result.stderr)  # not initialised: exit 2
        assert result.stdout.strip() == "Server is not initialized"
    missing = cli.run("status", "-ca-cert", str(tmp_path / "missing.pem"))
    assert missing.returncode == 1
    assert "cannot load the CA certificate" in missing.stderr


def test_plain_http_to_the_tls_listener_says_to_use_https(
    tls: ServerProcess, tmp_path: Path
) -> None:
    # The TLS listener answers plain HTTP with a TLS alert, not Vault's 400 (docs/
    # compatibility.md): the CLI names the likely fix instead of "is the server running?".
    plain = tls.url.replace("https://", "http://")
    result = CLI(tmp_path / "home", {"AWSBROKER_ADDR": plain}).run("operator", "init", "-status")
    assert result.returncode != 0
    assert f"cannot reach the server at {plain}" in result.stderr
    assert "use an https:// address" in result.stderr
    assert "Is the server running?" not in result.stderr
    assert "Traceback" not in result.stderr
