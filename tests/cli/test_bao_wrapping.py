"""The real `bao` CLI (Vault's, as OpenBao ships it) against our server: `-wrap-ttl` on
`write`, `read` and `token create`, `bao unwrap` (the token as an argument, or as the CLI's own
token), and `bao read`/`write`/`list`/`delete` of `cubbyhole/`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import bao
from tests.support.cli import CLI
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


def table_keys(text: str) -> list[str]:
    """The keys of a `Key  Value` table, in order."""
    return [line.split()[0] for line in text.splitlines()[2:] if line.strip()]


def test_awsbroker_wraps_and_unwraps_as_bao_does(
    dev: ServerProcess, cli: CLI, tmp_path: Path
) -> None:
    reference = bao.Bao(bao.require(), tmp_path / "bao", dev.url, ROOT_TOKEN)
    args = ("token", "create", "-wrap-ttl=90s", "-policy=default")
    ours, theirs = cli.run(*args), reference.run(*args)
    assert (ours.returncode, theirs.returncode) == (0, 0), ours.stderr
    assert (
        table_keys(ours.stdout)
        == table_keys(theirs.stdout)
        == [
            "wrapping_token:",
            "wrapping_accessor:",
            "wrapping_token_ttl:",
            "wrapping_token_creation_time:",
            "wrapping_token_creation_path:",
            "wrapped_accessor:",
        ]
    )
    ttl_line = next(
        line for line in ours.stdout.splitlines() if line.startswith("wrapping_token_ttl")
    )
    assert ttl_line.split()[-1] == "1m30s"
    time_line = next(line for line in ours.stdout.splitlines() if "creation_time" in line)
    assert time_line.endswith(" +0000 UTC")

    # Unwrap what each wrapped, with the other command: the same secret either way.
    wrapped = json.loads(
        ok(reference, "write", "-format=json", "-wrap-ttl=60s", "sys/wrapping/wrap", "a=b")
    )
    done = cli.run("unwrap", "-format=json", wrapped["wrap_info"]["token"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"] == {"a": "b"}
    mine = cli.run("write", "-format=json", "-wrap-ttl=60s", "sys/wrapping/wrap", "c=d")
    token = json.loads(mine.stdout)["wrap_info"]["token"]
    assert json.loads(ok(reference, "unwrap", "-format=json", token))["data"] == {"c": "d"}
    # As the CLI's own token, in a table; then spent.
    own = cli.run(
        "unwrap",
        env={
            "AWSBROKER_TOKEN": json.loads(
                cli.run("write", "-format=json", "-wrap-ttl=60s", "sys/wrapping/wrap", "e=f").stdout
            )["wrap_info"]["token"]
        },
    )
    assert own.returncode == 0, own.stderr
    assert table_keys(own.stdout) == ["e"]
    spent = cli.run("unwrap", token)
    assert spent.returncode == 2
    assert "wrapping token is not valid or does not exist" in spent.stderr
