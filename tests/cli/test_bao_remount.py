"""The real `bao` CLI against our server: `secrets move` and `auth move` (`sys/remount`, then
polling `sys/remount/status/<id>` until the move is done), and `lease lookup`, `renew` and
`revoke` on a token's lease, answered as OpenBao answers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import bao
from tests.support.server import ROOT_TOKEN, ServerProcess


def ok(cli: bao.Bao, *args: str) -> str:
    done = cli.run(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def as_json(cli: bao.Bao, *args: str) -> Any:
    return json.loads(ok(cli, *args))


def test_bao_secrets_move_and_auth_move(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    ok(cli, "secrets", "enable", "-path=team", "aws")
    ok(
        cli,
        "write",
        "team/roles/ci",
        "credential_type=iam_user",
        "policy_arns=arn:aws:iam::aws:policy/ReadOnlyAccess",
    )
    moved = ok(cli, "secrets", "move", "team", "platform/team")
    assert "Success! Finished moving secrets engine team/ to platform/team/" in moved
    mounts = as_json(cli, "secrets", "list", "-format=json")
    assert "platform/team/" in mounts
    assert "team/" not in mounts
    assert as_json(cli, "read", "-format=json", "platform/team/roles/ci")["data"]["policy_arns"]

    refused = cli.run("secrets", "move", "platform/team", "sys/x")
    assert refused.returncode == 2
    assert "cannot remount to destination sys/x/" in refused.stderr

    ok(cli, "auth", "enable", "approle")
    moved = ok(cli, "auth", "move", "auth/approle", "auth/machines")
    assert "Success! Finished moving auth method auth/approle/ to auth/machines/" in moved
    methods = as_json(cli, "auth", "list", "-format=json")
    assert "machines/" in methods
    assert "approle/" not in methods


def test_bao_lease_commands_on_a_token_lease(dev: ServerProcess, tmp_path: Path) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "home", dev.url, ROOT_TOKEN)
    token = as_json(cli, "token", "create", "-ttl=1h", "-format=json")["auth"]["client_token"]
    [key] = as_json(cli, "list", "-format=json", "sys/leases/lookup/auth/token/create/")
    lease_id = f"auth/token/create/{key}"

    lease = as_json(cli, "lease", "lookup", "-format=json", lease_id)["data"]
    assert (lease["id"], lease["path"], lease["renewable"]) == (
        lease_id,
        "auth/token/create",
        True,
    )
    # As OpenBao: a token is renewed with `token renew`, not through the lease endpoint.
    refused = cli.run("lease", "renew", lease_id)
    assert refused.returncode == 2
    assert "tokens cannot be renewed through this endpoint" in refused.stderr
    ok(cli, "token", "renew", token)

    # As OpenBao: queued (sync=false), and the token is gone at once.
    assert "All revocation operations queued successfully!" in ok(cli, "lease", "revoke", lease_id)
    gone = cli.run("token", "lookup", token)
    assert gone.returncode == 2
    assert cli.run("list", "sys/leases/lookup/auth/token/create/").returncode == 2
