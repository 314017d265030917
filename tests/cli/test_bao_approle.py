"""The real `bao` CLI (Vault's, as OpenBao ships it) against our server: `auth enable`,
`auth list`, `auth tune`, AppRole's role, role ID and secret ID, `write auth/approle/login`
and `auth disable`, all unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import bao
from tests.support.server import ROOT_TOKEN, ServerProcess


def ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_bao_cli_drives_sys_auth_and_approle(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    ok(cli, "auth", "enable", "approle")
    try:
        listed = json.loads(ok(cli, "auth", "list", "-format=json"))
        assert listed["approle/"]["type"] == "approle"
        assert listed["token/"]["type"] == "token"
        ok(cli, "auth", "tune", "-max-lease-ttl=2h", "approle/")
        tuned = json.loads(ok(cli, "read", "-format=json", "sys/auth/approle/tune"))
        assert tuned["data"]["max_lease_ttl"] == 7200

        ok(cli, "write", "auth/approle/role/ci", "token_policies=default", "token_ttl=10m")
        role_id = ok(cli, "read", "-field=role_id", "auth/approle/role/ci/role-id").strip()
        secret_id = ok(cli, "write", "-f", "-field=secret_id", "auth/approle/role/ci/secret-id")
        login = json.loads(
            ok(
                cli,
                "write",
                "-format=json",
                "auth/approle/login",
                f"role_id={role_id}",
                f"secret_id={secret_id.strip()}",
            )
        )
        assert login["auth"]["lease_duration"] == 600
        assert login["auth"]["metadata"] == {"role_name": "ci"}
        token = login["auth"]["client_token"]
        workload = bao.Bao(cli.binary, tmp_path / "workload", dev.url, token)
        me = json.loads(ok(workload, "token", "lookup", "-format=json"))
        assert me["data"]["path"] == "auth/approle/login"

        refused = cli.run("write", "auth/approle/login", f"role_id={role_id}", "secret_id=wrong")
        assert refused.returncode == 2
        assert "invalid role or secret ID" in refused.stderr
    finally:
        ok(cli, "auth", "disable", "approle")
    assert "approle/" not in json.loads(ok(cli, "auth", "list", "-format=json"))
