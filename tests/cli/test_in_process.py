"""The same commands run in this process (`awsbroker.cli.main.main` with its own streams), so
the verbs' code is measured by coverage; the subprocess tests check the installed command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from tests.support.server import ROOT_TOKEN, ServerProcess

from awsbroker.cli.command import IO
from awsbroker.cli.main import main


class Runner:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *argv: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
        streams = IO({**self.env, **env}, io.StringIO(stdin), io.StringIO(), io.StringIO())
        code = main(list(argv), streams)
        return code, streams.stdout.getvalue(), streams.stderr.getvalue()  # type: ignore[attr-defined]

    def ok(self, *argv: str, stdin: str = "", **env: str) -> str:
        code, out, err = self(*argv, stdin=stdin, **env)
        assert code == 0, (argv, code, out, err)
        return out


@pytest.fixture
def run(dev: ServerProcess, tmp_path: Path) -> Runner:
    token_file = tmp_path / "token"
    token_file.write_text(ROOT_TOKEN)
    return Runner(
        {
            "HOME": str(tmp_path),
            "AWSBROKER_ADDR": dev.url,
            "AWSBROKER_TOKEN_FILE": str(token_file),
            "AWSBROKER_CACHE_DIR": str(tmp_path / "cache"),
        }
    )


def test_every_verb_family_in_process(run: Runner, tmp_path: Path) -> None:
    assert json.loads(run.ok("status", "-format=json"))["sealed"] is False
    assert "Cluster Name" in run.ok("operator", "status")
    assert run.ok("operator", "init", "-status").strip() == "Server is initialized"
    assert run.ok("read", "-field=id", "auth/token/lookup-self") == ROOT_TOKEN
    run.ok("write", "aws/roles/inproc", "credential_type=iam_user", "policy_document={}")
    assert "inproc" in run.ok("list", "aws/roles")
    assert "credential_type" in run.ok("read", "-format=yaml", "aws/roles/inproc")
    run.ok("delete", "aws/roles/inproc")
    assert run("read", "aws/roles/inproc")[0] == 2
    assert run("list", "aws/roles")[0] == 2

    run.ok("policy", "write", "inproc", "-", stdin='path "sys/mounts" { capabilities = ["read"] }')
    assert "sys/mounts" in run.ok("policy", "read", "inproc")
    assert "inproc" in run.ok("policy", "list")
    token = run.ok("token", "create", "-policy=inproc", "-field=token", "-metadata=a=b")
    assert run("read", "sys/mounts", AWSBROKER_TOKEN=token)[0] == 0
    assert "[default inproc]" in run.ok("token", "lookup", token)
    run.ok("token", "renew", "-increment=1h", token)
    run.ok("token", "revoke", token)
    run.ok("policy", "delete", "inproc")

    run.ok("secrets", "enable", "-path=inproc", "-default-lease-ttl=1h", "aws")
    assert "inproc/" in run.ok("secrets", "list", "-detailed")
    run.ok("secrets", "tune", "-max-lease-ttl=2h", "inproc")
    run.ok("secrets", "disable", "inproc")

    log = tmp_path / "audit.log"
    run.ok("audit", "enable", "-path=inproc", "file", f"file_path={log}")
    assert "inproc/" in run.ok("audit", "list", "-detailed")
    run.ok("audit", "disable", "inproc")

    code, _, err = run("lease", "lookup", "aws/creds/x/none")
    assert code == 2
    assert "invalid lease" in err or "lease" in err
    assert run.ok("lease", "revoke", "-prefix", "aws/creds/none").startswith("Success!")
    assert run.ok("lease", "revoke", "-sync=false", "aws/creds/x/none").startswith("Revocation")
    assert run.ok("lease", "revoke", "-force", "-prefix", "aws/creds/none").startswith("Success!")
    assert run("lease", "revoke", "-force", "x")[0] == 1
    assert run("lease", "renew", "-increment=soon", "x")[0] == 1


def test_login_and_errors_in_process(run: Runner, tmp_path: Path) -> None:
    out = run.ok("login", ROOT_TOKEN, AWSBROKER_TOKEN="shadowed")
    assert "Success!" in out
    code, _, err = run("login", "hvs.bogus")
    assert code == 2
    assert "refused" in err
    assert run("login", "-", stdin="")[0] == 1
    assert run("read", "nowhere/x")[0] == 2
    assert run("status", AWSBROKER_ADDR="http://127.0.0.1:1")[0] == 1
    assert run("read", "sys/mounts", AWSBROKER_ADDR="http://127.0.0.1:1")[0] == 2
    assert run("read", "sys/mounts", AWSBROKER_CACERT=str(tmp_path / "nope.pem"))[0] == 1
    assert run()[0] == 1
    assert run("help")[0] == 0
    assert run("token")[0] == 1
    assert run("operator", "init", "-key-shares=x")[0] == 1
    assert run("aws", "exec", "-h")[0] == 0
