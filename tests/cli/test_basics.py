"""The command's contract: exit codes, output formats, where the address and token come from,
and errors that say what to do."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import yaml
from tests.support.cli import AWSBROKER, CLI
from tests.support.server import ROOT_TOKEN, ServerProcess, free_port


def test_status_of_an_unsealed_server_exits_0(cli: CLI) -> None:
    result = cli.run("status")
    assert result.returncode == 0, result.stderr
    assert "Sealed          false" in result.stdout
    status = json.loads(cli.ok("status", "-format=json"))
    assert status["sealed"] is False
    assert status["initialized"] is True


def test_read_in_every_format_and_spelling(cli: CLI) -> None:
    vault_style = json.loads(cli.ok("read", "-format=json", "auth/token/lookup-self"))
    gnu_style = json.loads(cli.ok("read", "--format", "json", "auth/token/lookup-self"))
    after_path = json.loads(cli.ok("read", "auth/token/lookup-self", "--format=json"))
    for body in (vault_style, gnu_style, after_path):
        assert body["data"]["id"] == ROOT_TOKEN
        assert body["data"]["policies"] == ["root"]
    as_yaml = yaml.safe_load(cli.ok("read", "-format", "yaml", "auth/token/lookup-self"))
    assert as_yaml["data"]["id"] == ROOT_TOKEN
    table = cli.ok("read", "auth/token/lookup-self")
    lines = table.splitlines()
    assert lines[0].split() == ["Key", "Value"]
    assert lines[1].split() == ["---", "-----"]
    assert any(line.split() == ["id", ROOT_TOKEN] for line in lines)


def test_field_prints_one_value_without_newline_when_piped(cli: CLI) -> None:
    assert cli.ok("read", "-field=id", "auth/token/lookup-self") == ROOT_TOKEN
    assert cli.ok("read", "--field", "policies", "auth/token/lookup-self") == "[root]"
    assert json.loads(cli.ok("read", "-format=json", "-field=policies", "auth/token/lookup-self"))
    missing = cli.run("read", "-field=nope", "auth/token/lookup-self")
    assert missing.returncode == 1
    assert 'Field "nope" not present' in missing.stderr


def test_token_precedence_awsbroker_then_vault_then_token_file(cli: CLI) -> None:
    lookup = ("read", "-field=id", "auth/token/lookup-self")
    child = cli.ok("token", "create", "-policy=default", "-field=token")
    # The token file (root) is used when neither variable is set.
    assert cli.ok(*lookup) == ROOT_TOKEN
    # VAULT_TOKEN beats the file; AWSBROKER_TOKEN beats VAULT_TOKEN.
    assert cli.ok(*lookup, env={"VAULT_TOKEN": child}) == child
    assert cli.ok(*lookup, env={"VAULT_TOKEN": "hvs.bogus", "AWSBROKER_TOKEN": child}) == child
    # AWSBROKER_TOKEN_FILE points elsewhere: no token at all.
    nothing = cli.run(*lookup, env={"AWSBROKER_TOKEN_FILE": str(cli.home / "none")})
    assert nothing.returncode == 2


def test_address_precedence_flag_then_awsbroker_then_vault(cli: CLI, dev: ServerProcess) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert cli.run("status", env={"AWSBROKER_ADDR": None, "VAULT_ADDR": dev.url}).returncode == 0
    assert cli.run("status", env={"AWSBROKER_ADDR": dev.url, "VAULT_ADDR": dead}).returncode == 0
    assert cli.run("status", f"-address={dev.url}", env={"AWSBROKER_ADDR": dead}).returncode == 0
    down = cli.run("read", "sys/mounts", env={"AWSBROKER_ADDR": dead})
    assert down.returncode == 2
    assert f"cannot reach the server at {dead}" in down.stderr
    assert "AWSBROKER_ADDR" in down.stderr
    # `status` keeps 2 for "sealed": an unreachable server is 1.
    assert cli.run("status", env={"AWSBROKER_ADDR": dead}).returncode == 1


def test_a_missing_token_says_how_to_give_one(cli: CLI) -> None:
    result = cli.run("read", "sys/mounts", env={"AWSBROKER_TOKEN_FILE": str(cli.home / "none")})
    assert result.returncode == 2
    assert "Code: 403" in result.stderr
    assert "No token was given" in result.stderr
    assert "awsbroker login" in result.stderr


def test_a_refused_token_says_where_it_came_from(cli: CLI) -> None:
    result = cli.run("read", "sys/mounts", env={"AWSBROKER_TOKEN": "hvs.bogus"})
    assert result.returncode == 2
    assert "The token (from AWSBROKER_TOKEN) was refused" in result.stderr


def test_unknown_paths_and_empty_reads(cli: CLI) -> None:
    unknown = cli.run("read", "nowhere/x")
    assert unknown.returncode == 2
    assert "no handler for route" in unknown.stderr
    assert "awsbroker secrets list" in unknown.stderr
    empty = cli.run("read", "aws/roles/none")
    assert empty.returncode == 2
    assert empty.stderr.strip() == "No value found at aws/roles/none"
    assert cli.run("list", "aws/roles").returncode == 2


def test_usage_errors_exit_1_with_the_usage(cli: CLI) -> None:
    for args in (["read"], ["read", "-bogus", "x"], ["status", "extra"], ["lease", "revoke"]):
        result = cli.run(*args)
        assert result.returncode == 1, args
        assert "Usage: awsbroker" in result.stderr
    assert cli.run("nonsense").returncode == 1
    assert "Usage: awsbroker lease <lookup|renew|revoke>" in cli.run("lease").stderr
    assert cli.run("bad-format", "-format=xml").returncode == 1
    assert cli.run("read", "-format=xml", "sys/mounts").returncode == 1
    helped = cli.run("read", "-h")
    assert helped.returncode == 0
    assert "-format=FORMAT" in helped.stdout
    assert "token create" in cli.ok("--help")


def test_login_checks_the_token_and_saves_it_0600(cli: CLI) -> None:
    token_file = Path(cli.env["AWSBROKER_TOKEN_FILE"])
    token_file.unlink()
    child = cli.ok(
        "token", "create", "-policy=default", "-field=token", env={"AWSBROKER_TOKEN": ROOT_TOKEN}
    )
    assert cli.run("login", "hvs.bogus").returncode == 2
    assert not token_file.exists()
    out = cli.ok("login", child)
    assert "Success! You are now authenticated" in out
    assert token_file.read_text() == child
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert cli.ok("read", "-field=id", "auth/token/lookup-self") == child
    cli.ok("login", "-", stdin=ROOT_TOKEN + "\n")
    assert token_file.read_text() == ROOT_TOKEN


def test_write_list_delete_and_data_sources(cli: CLI, tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    document.write_text('{"Version": "2012-10-17", "Statement": []}')
    out = cli.ok("write", "aws/roles/a", "credential_type=iam_user", f"policy_document=@{document}")
    assert out.strip() == "Success! Data written to: aws/roles/a"
    cli.ok(
        "write",
        "aws/roles/b",
        "-",
        stdin=json.dumps({"credential_type": "federation_token", "policy_arns": ["arn:x"]}),
    )
    role = json.loads(cli.ok("read", "-format=json", "aws/roles/a"))
    assert json.loads(role["data"]["policy_document"]) == json.loads(document.read_text())
    assert json.loads(cli.ok("list", "-format=json", "aws/roles")) == ["a", "b"]
    assert cli.ok("list", "aws/roles").split() == ["Keys", "----", "a", "b"]
    cli.ok("delete", "aws/roles/a")
    cli.ok("delete", "aws/roles/b")
    assert cli.run("list", "aws/roles").returncode == 2
    assert cli.run("write", "aws/roles/c", "novalue").returncode == 1


def test_a_reader_that_stops_early_ends_the_command_quietly(cli: CLI) -> None:
    """`awsbroker ... | head -1`: the pipe closes before the output is written (`true` reads
    nothing and exits at once); the command ends as `vault` does (by SIGPIPE), with no
    BrokenPipeError traceback on stderr."""
    result = subprocess.run(
        ["bash", "-c", f"{AWSBROKER} status | true; {AWSBROKER} read sys/mounts | true"],
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=60,
        check=False,
    )
    assert result.stderr == ""
