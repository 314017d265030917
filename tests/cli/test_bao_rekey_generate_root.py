"""The real `bao` CLI (OpenBao's) against our server: `operator rekey` (Vault's unauthenticated
`sys/rekey/*`), `operator rotate-keys` with `-verify` (OpenBao's `sys/rotate/root/*`), and
`operator generate-root` with `-generate-otp`, `-init -otp`, the shares and `-decode` (OpenBao's
`sys/generate-root-token/*`). After the rekey, `operator unseal` takes the new shares only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support import bao
from tests.support.server import UNAUTHED_ON, InitResult, ServerFactory, ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    factory = ServerFactory(tmp_path)
    try:
        yield factory.sqlite(listener=UNAUTHED_ON)
    finally:
        factory.close()


def ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def as_json(cli: bao.Bao, command: str, verb: str, *args: str) -> Any:
    """`bao <command> <verb> -format=json <args>` (flags before the key argument)."""
    return json.loads(ok(cli, command, verb, "-format=json", *args))


def unseal(cli: bao.Bao, keys: list[str]) -> bool:
    ok(cli, "operator", "unseal", "-reset")
    for key in keys:
        if cli.run("operator", "unseal", key).returncode != 0:
            return False
    return json.loads(ok(cli, "status", "-format=json"))["sealed"] is False


def test_bao_rekey_then_rotate_keys_with_verification(
    server: ServerProcess, tmp_path: Path
) -> None:
    init: InitResult = server.init_and_unseal(3, 2)
    cli = bao.Bao(bao.require(), tmp_path / "home", server.url, init.root_token)
    assert as_json(cli, "operator", "rekey", "-status")["started"] is False

    started = as_json(cli, "operator", "rekey", "-init", "-key-shares=2", "-key-threshold=2")
    assert (started["started"], started["n"], started["t"], started["required"]) == (True, 2, 2, 2)
    nonce = started["nonce"]
    assert "Progress                 1/2" in ok(
        cli, "operator", "rekey", f"-nonce={nonce}", init.keys[0]
    )
    done = as_json(cli, "operator", "rekey", f"-nonce={nonce}", init.keys_base64[1])
    assert done["complete"] is True
    rekeyed = done["keys_base64"]
    assert len(rekeyed) == 2

    # A cancelled attempt leaves nothing behind.
    ok(cli, "operator", "rekey", "-init", "-key-shares=1", "-key-threshold=1")
    ok(cli, "operator", "rekey", "-cancel")
    assert as_json(cli, "operator", "rekey", "-status")["started"] is False

    # OpenBao's name for it, with verification of the new shares before they count.
    started = as_json(
        cli, "operator", "rotate-keys", "-init", "-key-shares=1", "-key-threshold=1", "-verify"
    )
    assert started["verification_required"] is True
    nonce = started["nonce"]
    ok(cli, "operator", "rotate-keys", f"-nonce={nonce}", rekeyed[0])
    done = as_json(cli, "operator", "rotate-keys", f"-nonce={nonce}", rekeyed[1])
    assert done["verification_required"] is True
    assert "Verification Progress    0/1" in ok(
        cli, "operator", "rotate-keys", "-verify", "-status"
    )
    out = ok(
        cli, "operator", "rotate-keys", "-verify", f"-nonce={done['verification_nonce']}",
        done["keys_base64"][0],
    )  # fmt: skip
    assert "Rotation verification successful" in out

    refused = cli.run("operator", "rotate-keys", "-backup-retrieve")
    assert refused.returncode == 2
    assert "no backed-up keys found" in refused.stderr

    ok(cli, "operator", "seal")
    assert not unseal(cli, init.keys[:2])
    assert not unseal(cli, rekeyed)
    assert unseal(cli, done["keys_base64"])
    assert "Traceback" not in server.log()


def test_bao_generate_root_with_an_otp(server: ServerProcess, tmp_path: Path) -> None:
    init: InitResult = server.init_and_unseal(3, 2)
    cli = bao.Bao(bao.require(), tmp_path / "home", server.url, init.root_token)
    otp = ok(cli, "operator", "generate-root", "-generate-otp").strip()
    assert len(otp) == 28
    started = as_json(cli, "operator", "generate-root", "-init", f"-otp={otp}")
    assert (started["started"], started["required"], started["otp_length"]) == (True, 2, 28)
    nonce = started["nonce"]
    ok(cli, "operator", "generate-root", f"-nonce={nonce}", init.keys[2])
    done = as_json(cli, "operator", "generate-root", f"-nonce={nonce}", init.keys[0])
    assert done["complete"] is True
    decoded = ok(
        cli, "operator", "generate-root", f"-decode={done['encoded_token']}", f"-otp={otp}"
    )
    token = decoded.strip()
    assert token.startswith("hvs.")
    assert token != init.root_token
    assert as_json(cli, "operator", "generate-root", "-status")["started"] is False

    fresh = bao.Bao(cli.binary, tmp_path / "fresh", server.url, token)
    me = as_json(fresh, "token", "lookup")["data"]
    assert me["policies"] == ["root"]
    ok(fresh, "operator", "generate-root", "-init", "-generate-otp")
    ok(fresh, "operator", "generate-root", "-cancel")
    assert as_json(fresh, "operator", "generate-root", "-status")["started"] is False


def test_a_default_server_serves_bao_generate_root_and_rotate_keys_but_not_rekey(
    tmp_path: Path,
) -> None:
    """With the listener's defaults: `bao operator rekey` (token-less `sys/rekey/*`) gets
    OpenBao's 405; `rotate-keys` and `generate-root` (token paths) work."""
    factory = ServerFactory(tmp_path)
    try:
        server = factory.sqlite()
        init = server.init_and_unseal(1, 1)
        cli = bao.Bao(bao.require(), tmp_path / "home", server.url, init.root_token)
        refused = cli.run("operator", "rekey", "-status")
        assert refused.returncode == 2
        assert "Code: 405" in refused.stderr
        assert "unsupported operation" in refused.stderr
        assert as_json(cli, "operator", "rotate-keys", "-status")["started"] is False
        assert as_json(cli, "operator", "generate-root", "-status")["otp_length"] == 28
    finally:
        factory.close()
