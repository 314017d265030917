"""The real `bao` CLI (Vault's, as OpenBao ships it) against our server: token roles written,
listed, read and deleted with `write`/`list`/`read`/`delete`, and `token create -role`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import bao
from tests.support.server import ROOT_TOKEN, ServerProcess


def ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_bao_cli_drives_token_roles(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    ok(
        cli,
        "write",
        "auth/token/roles/ci",
        "allowed_policies=deployer",
        "orphan=true",
        "token_period=1h",
        "path_suffix=repo-a",
    )
    assert json.loads(ok(cli, "list", "-format=json", "auth/token/roles")) == ["ci"]
    role = json.loads(ok(cli, "read", "-format=json", "auth/token/roles/ci"))["data"]
    assert (role["allowed_policies"], role["token_period"]) == (["deployer"], 3600)

    made = json.loads(ok(cli, "token", "create", "-role=ci", "-format=json"))["auth"]
    assert (made["policies"], made["orphan"], made["lease_duration"]) == (
        ["default", "deployer"],
        True,
        3600,
    )
    me = json.loads(ok(cli, "token", "lookup", "-format=json", made["client_token"]))["data"]
    assert (me["path"], me["role"]) == ("auth/token/create/ci/repo-a", "ci")

    refused = cli.run("token", "create", "-role=ci", "-policy=admin")
    assert refused.returncode == 2
    assert "must be subset of the role's allowed policies" in refused.stderr

    ok(cli, "delete", "auth/token/roles/ci")
    assert cli.run("list", "auth/token/roles").returncode == 2
