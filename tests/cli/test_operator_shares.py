"""`awsbroker operator generate-root` and `operator rekey`, without a token (the shares are the
credential): the server-made OTP, JSON output, the nonce read from the server, -cancel, what
they refuse; a rekey with verification, after which only the new shares unseal. The guide's
walkthrough (test_production_guide.py) runs generate-root's OTP-first flow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli import CLI
from tests.support.server import UNAUTHED_ON, ServerProcess, config_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    workdir = tmp_path / "server"
    workdir.mkdir()
    made = config_server(
        workdir, "sqlite", {"path": str(workdir / "storage.db")}, listener=UNAUTHED_ON
    )
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


def test_rekey_with_verification_and_no_token(server: ServerProcess, tmp_path: Path) -> None:
    init = server.init_and_unseal(3, 2)
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": server.url})
    assert "Started    false" in cli.ok("operator", "rekey", "-status")
    refused = cli.run("operator", "rekey", init.keys[0])
    assert refused.returncode != 0
    assert "no rekey is in progress" in refused.stderr
    bad = cli.run("operator", "rekey", "-init", "-key-shares=2", "-key-threshold=3")
    assert bad.returncode == 2
    assert "invalid rekey seal configuration: threshold cannot be larger than shares" in bad.stderr

    started = cli.ok("operator", "rekey", "-init", "-key-shares=2", "-key-threshold=2", "-verify")
    assert "Rekey Progress           0/2" in started
    assert "Verification Required    true" in started
    cli.ok("operator", "rekey", "-", stdin=init.keys[0])
    done = cli.ok("operator", "rekey", init.keys_base64[2])
    new_keys = re.findall(r"^Key \d: (\S+)$", done, re.MULTILINE)
    assert len(new_keys) == 2
    assert "operator rekey -verify" in done
    assert "Verification Progress    0/2" in cli.ok("operator", "rekey", "-verify", "-status")
    restarted = cli.ok("operator", "rekey", "-verify", "-cancel")
    assert "Verification Nonce" in restarted
    cli.ok("operator", "rekey", "-verify", new_keys[0])
    verified = cli.ok("operator", "rekey", "-verify", new_keys[1])
    assert "Rekey verification successful" in verified
    assert "Started    false" in cli.ok("operator", "rekey", "-status")

    cli.ok("operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1")
    assert "Canceled" in cli.ok("operator", "rekey", "-cancel")
    server.client(init.root_token).sys.seal()
    assert cli.run("operator", "unseal", init.keys[0]).returncode == 0  # a share of some key
    old = cli.run("operator", "unseal", init.keys[1])
    assert old.returncode == 2  # the old quorum no longer opens the root key
    cli.ok("operator", "unseal", "-reset")
    for key in new_keys:
        cli.ok("operator", "unseal", key)
    assert cli.run("status").returncode == 0


@pytest.fixture
def default_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with the listener's defaults: no token-less rekey or generate-root."""
    workdir = tmp_path / "default-server"
    workdir.mkdir()
    made = config_server(workdir, "sqlite", {"path": str(workdir / "storage.db")})
    made.start()
    try:
        yield made
    finally:
        made.close()


def test_with_a_token_they_use_the_token_paths(
    default_server: ServerProcess, tmp_path: Path
) -> None:
    """With a token, `sys/generate-root-token/*` and `sys/rotate/root/*` (as bao's
    `operator generate-root` and `rotate-keys`), which a default server serves."""
    init = default_server.init_and_unseal(3, 2)
    env = {"AWSBROKER_ADDR": default_server.url, "AWSBROKER_TOKEN": init.root_token}
    cli = CLI(tmp_path / "home", env)
    otp = cli.ok("operator", "generate-root", "-generate-otp").strip()
    assert len(otp) == 28
    started = json.loads(
        cli.ok("operator", "generate-root", "-init", f"-otp={otp}", "-format=json")
    )
    assert (started["started"], started["required"]) == (True, 2)
    cli.ok("operator", "generate-root", init.keys[0])
    done = json.loads(cli.ok("operator", "generate-root", "-format=json", init.keys[1]))
    assert done["complete"] is True
    token = cli.ok("operator", "generate-root", f"-decode={done['encoded_token']}", f"-otp={otp}")
    assert default_server.client(token.strip()).is_authenticated()

    assert "Started    false" in cli.ok("operator", "rekey", "-status")
    cli.ok("operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1", "-verify")
    cli.ok("operator", "rekey", init.keys[0])
    rekeyed = cli.ok("operator", "rekey", init.keys[2])
    (new_key,) = re.findall(r"^Key 1: (\S+)$", rekeyed, re.MULTILINE)
    assert "Verification Progress    0/1" in cli.ok("operator", "rekey", "-verify", "-status")
    assert "Verification Nonce" in cli.ok("operator", "rekey", "-verify", "-cancel")
    verified = cli.ok("operator", "rekey", "-verify", new_key)
    assert "Rekey verification successful" in verified
    default_server.client(init.root_token).sys.seal()
    default_server.unseal([new_key])


@pytest.mark.parametrize("command", ["generate-root", "rekey"])
def test_the_token_less_paths_of_a_default_server_are_refused_with_advice(
    default_server: ServerProcess, tmp_path: Path, command: str
) -> None:
    init = default_server.init_and_unseal(1, 1)
    switch = {
        "generate-root": "disable_unauthed_generate_root_endpoints",
        "rekey": "disable_unauthed_rekey_endpoints",
    }[command]
    no_token = CLI(tmp_path / "no-token", {"AWSBROKER_ADDR": default_server.url})
    asked = CLI(
        tmp_path / "asked",
        {"AWSBROKER_ADDR": default_server.url, "AWSBROKER_TOKEN": init.root_token},
    )
    for refused in (
        no_token.run("operator", command, "-status"),
        asked.run("operator", command, "-status", "-unauthenticated"),
    ):
        assert refused.returncode == 2, refused.stderr
        assert "Code: 405" in refused.stderr
        assert "unsupported operation" in refused.stderr
        assert f"while its listener block sets {switch} = false" in refused.stderr
