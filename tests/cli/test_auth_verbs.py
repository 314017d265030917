"""`awsbroker auth enable|disable|list|tune` print what Vault's CLI prints: each is run with
the real `bao` (OpenBao's CLI) and with `awsbroker` against the same server, and their output
compared byte for byte (the same server state gives the same text), exit codes included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.support import bao
from tests.support.cli import CLI
from tests.support.server import ROOT_TOKEN, ServerProcess


@pytest.fixture
def both(dev: ServerProcess, tmp_path: Path) -> tuple[bao.Bao, CLI]:
    theirs = bao.Bao(bao.require(), tmp_path / "bao-home", dev.url, ROOT_TOKEN)
    ours = CLI(tmp_path / "home", {"AWSBROKER_ADDR": dev.url, "AWSBROKER_TOKEN": ROOT_TOKEN})
    return theirs, ours


def same(both: tuple[bao.Bao, CLI], *args: str, ours_args: tuple[str, ...] = ()) -> str:
    """Run `args` with both (ours with `ours_args` instead, on the mount `ours/` where theirs
    is on `theirs/`); the same stdout and exit code, and ours' stderr carries the error theirs
    printed. Returns the stdout."""
    theirs, ours = both
    expected, got = theirs.run(*args), ours.run(*(ours_args or args))
    assert got.returncode == expected.returncode, (args, expected.stderr, got.stderr)
    stdout = got.stdout.replace("ours/", "theirs/") if ours_args else got.stdout
    assert stdout == expected.stdout, args
    for line in expected.stderr.splitlines():
        if line.startswith("* "):  # the server's error, as both print it
            assert line in got.stderr, (args, expected.stderr, got.stderr)
    return got.stdout


def test_enable_tune_list_disable_as_vaults_cli(both: tuple[bao.Bao, CLI]) -> None:
    flags = ("-description=machines", "-default-lease-ttl=1h", "-max-lease-ttl=2h")
    out = same(
        both,
        "auth", "enable", "-path=theirs", *flags, "approle",
        ours_args=("auth", "enable", "-path=ours", *flags, "approle"),
    )  # fmt: skip
    assert out == "Success! Enabled approle auth method at: ours/\n"
    listed = json.loads(same(both, "auth", "list", "-format=json"))
    assert listed["ours/"]["config"] == listed["theirs/"]["config"]
    assert listed["ours/"]["config"]["default_lease_ttl"] == 3600
    assert listed["ours/"]["description"] == "machines"

    tune = ("-max-lease-ttl=3h", "-audit-non-hmac-request-keys=role_id", "-token-type=service")
    same(both, "auth", "tune", *tune, "theirs", ours_args=("auth", "tune", *tune, "ours/"))
    for args in (
        ("auth", "list"),
        ("auth", "list", "-detailed"),
        ("auth", "list", "-format=json"),
        ("auth", "list", "-detailed", "-format=json"),
    ):
        same(both, *args)
    # YAML: the same document (our YAML writer orders keys and quotes strings its own way).
    theirs, ours = both
    args = ("auth", "list", "-format=yaml")
    assert yaml.safe_load(ours.ok(*args)) == yaml.safe_load(theirs.run(*args).stdout)
    config = json.loads(same(both, "auth", "list", "-format=json"))["ours/"]["config"]
    assert config["max_lease_ttl"] == 3 * 3600
    assert config["audit_non_hmac_request_keys"] == ["role_id"]

    # The server's refusals, with Vault's exit code 2.
    same(both, "auth", "tune", "-default-lease-ttl=soon", "ours")  # refused before any request
    assert (
        'invalid value "soon" for flag -default-lease-ttl'
        in ours.run("auth", "tune", "-default-lease-ttl=soon", "ours").stderr
    )
    same(both, "auth", "enable", "-path=ours", "approle")
    same(both, "auth", "enable", "no-such-type")

    out = same(
        both, "auth", "disable", "theirs", ours_args=("auth", "disable", "ours")
    )  # fmt: skip
    assert out == "Success! Disabled the auth method (if it existed) at: ours/\n"
    assert set(json.loads(same(both, "auth", "list", "-format=json"))) == {"token/"}
    same(both, "auth", "disable", "never-was")  # nothing there: success, as Vault


def test_usage_errors_exit_1(both: tuple[bao.Bao, CLI]) -> None:
    theirs, ours = both
    for args in (("auth", "enable"), ("auth", "disable"), ("auth", "tune")):
        assert ours.run(*args).returncode == theirs.run(*args).returncode == 1, args


def test_login_methods_other_than_token_are_refused_as_vault_refuses_approle(
    both: tuple[bao.Bao, CLI],
) -> None:
    """Vault's CLI has no AppRole login handler; `write auth/approle/login` is the way
    (tests/cli/test_bao_approle.py, README)."""
    theirs, ours = both
    expected = theirs.run("login", "-method=approle", "role_id=x")
    got = ours.run("login", "-method=approle", "role_id=x")
    assert got.returncode == expected.returncode == 1
    assert got.stderr.startswith("Unknown auth method: approle.")
    assert "awsbroker write auth/approle/login role_id=ROLE_ID secret_id=SECRET_ID" in got.stderr
    saved = ours.run("login", "-method=token", "-format=json", ROOT_TOKEN)
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["auth"]["client_token"] == ROOT_TOKEN
