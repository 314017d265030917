"""The real `bao` CLI (Vault's, as OpenBao ships it) against our server: `-wrap-ttl` on
`write`, `read` and `token create`, `bao unwrap` (the token as an argument, or as the CLI's own
token), and `bao read`/`write`/`list`/`delete` of `cubbyhole/`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import bao
from tests.support.server import ROOT_TOKEN, ServerProcess


def ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_bao_wraps_and_unwraps(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    text = ok(cli, "write", "-wrap-ttl=60s", "sys/wrapping/wrap", "foo=bar")
    assert "wrapping_token_creation_path:    sys/wrapping/wrap" in text
    wrapped = json.loads(
        ok(cli, "write", "-format=json", "-wrap-ttl=60s", "sys/wrapping/wrap", "a=b")
    )
    info = wrapped["wrap_info"]
    assert info["ttl"] == 60
    unwrapped = json.loads(ok(cli, "unwrap", "-format=json", info["token"]))
    assert unwrapped["data"] == {"a": "b"}
    again = cli.run("unwrap", info["token"])
    assert again.returncode == 2
    assert "wrapping token is not valid or does not exist" in again.stderr

    token = json.loads(
        ok(cli, "token", "create", "-format=json", "-wrap-ttl=2m", "-policy=default")
    )["wrap_info"]
    assert token["creation_path"] == "auth/token/create"
    # `bao unwrap` with no argument unwraps the CLI's own token.
    holder = bao.Bao(cli.binary, tmp_path / "holder", dev.url, token["token"])
    auth = json.loads(ok(holder, "unwrap", "-format=json"))["auth"]
    assert auth["accessor"] == token["wrapped_accessor"]
    assert auth["policies"] == ["default"]

    wrapped_read = json.loads(ok(cli, "read", "-format=json", "-wrap-ttl=30s", "sys/mounts"))
    assert wrapped_read["wrap_info"]["creation_path"] == "sys/mounts"
    mounts = json.loads(ok(cli, "unwrap", "-format=json", wrapped_read["wrap_info"]["token"]))
    assert mounts["data"]["cubbyhole/"]["type"] == "cubbyhole"


def test_bao_uses_its_cubbyhole(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    made = json.loads(ok(cli, "token", "create", "-format=json", "-policy=default"))
    mine = bao.Bao(cli.binary, tmp_path / "mine", dev.url, made["auth"]["client_token"])
    assert "Success! Data written to: cubbyhole/app/key" in ok(
        mine, "write", "cubbyhole/app/key", "v=1"
    )
    assert ok(mine, "read", "-field=v", "cubbyhole/app/key") == "1"
    assert json.loads(ok(mine, "list", "-format=json", "cubbyhole/app")) == ["key"]
    missing = cli.run("read", "cubbyhole/app/key")  # root's own cubbyhole: empty
    assert missing.returncode == 2
    assert "No value found at cubbyhole/app/key" in missing.stdout + missing.stderr
    ok(mine, "delete", "cubbyhole/app/key")
    assert mine.run("read", "cubbyhole/app/key").returncode == 2
    listed = json.loads(ok(cli, "secrets", "list", "-format=json"))
    assert listed["cubbyhole/"]["type"] == "cubbyhole"
