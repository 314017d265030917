"""`awsbroker operator generate-root` without a token (the shares are the credential): the
server-made OTP, JSON output, the nonce read from the server, -cancel, and what it refuses.
The guide's walkthrough (test_production_guide.py) runs the OTP-first flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli import CLI
from tests.support.server import ServerProcess, config_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    workdir = tmp_path / "server"
    workdir.mkdir()
    made = config_server(workdir, "sqlite", {"path": str(workdir / "storage.db")})
    made.start()
    try:
        yield made
    finally:
        made.close()


def test_generate_root_with_the_servers_otp_and_no_token(
    server: ServerProcess, tmp_path: Path
) -> None:
    init = server.init_and_unseal(3, 2)
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": server.url})
    refused = cli.run("operator", "generate-root", init.keys[0])
    assert refused.returncode != 0
    assert "no root token generation is in progress" in refused.stderr

    started = json.loads(cli.ok("operator", "generate-root", "-init", "-format=json"))
    otp = started["otp"]
    assert (len(otp), started["otp_length"], started["required"]) == (28, 28, 2)
    assert "OTP Length    28" in cli.ok("operator", "generate-root", "-status")
    cli.ok("operator", "generate-root", "-", stdin=init.keys[1])
    done = json.loads(
        cli.ok(
            "operator", "generate-root", "-format=json", f"-nonce={started['nonce']}", init.keys[2]
        )
    )
    assert done["complete"] is True
    wrong = cli.run("operator", "generate-root", f"-decode={done['encoded_token']}", "-otp=abc")
    assert wrong.returncode != 0
    assert "OTP's length differs" in wrong.stderr
    decoded = json.loads(
        cli.ok(
            "operator", "generate-root", "-format=json",
            f"-decode={done['encoded_token']}", f"-otp={otp}",
        )
    )  # fmt: skip
    assert server.client(decoded["token"]).is_authenticated()

    cli.ok("operator", "generate-root", "-init")
    assert "canceled" in cli.ok("operator", "generate-root", "-cancel")
    assert (
        json.loads(cli.ok("operator", "generate-root", "-status", "-format=json"))["started"]
        is False
    )
    short = cli.run("operator", "generate-root", "-init", "-otp=short")
    assert short.returncode != 0
    assert "OTP string has incorrect length" in short.stderr
