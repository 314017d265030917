"""`policy`, `token`, `secrets` and `audit`: each verb family against a dev server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import CLI

READ_MOUNTS = 'path "sys/mounts" { capabilities = ["read"] }\n'


def test_policy_write_read_list_delete(cli: CLI, tmp_path: Path) -> None:
    source = tmp_path / "p.hcl"
    source.write_text(READ_MOUNTS)
    assert cli.ok("policy", "write", "readmounts", str(source)).strip() == (
        "Success! Uploaded policy: readmounts"
    )
    cli.ok("policy", "write", "fromstdin", "-", stdin=READ_MOUNTS)
    assert cli.ok("policy", "read", "readmounts") == READ_MOUNTS
    assert (
        json.loads(cli.ok("policy", "read", "-format=json", "readmounts"))["policy"] == READ_MOUNTS
    )
    assert {"default", "fromstdin", "readmounts", "root"} <= set(
        json.loads(cli.ok("policy", "list", "-format=json"))
    )
    cli.ok("policy", "delete", "fromstdin")
    assert cli.run("policy", "read", "fromstdin").returncode == 2
    assert cli.run("policy", "write", "x", str(tmp_path / "missing.hcl")).returncode == 1


def test_a_policy_limited_token(cli: CLI) -> None:
    cli.ok("policy", "write", "readmounts", "-", stdin=READ_MOUNTS)
    created = json.loads(
        cli.ok("token", "create", "-policy=readmounts", "-ttl=30m", "-format=json")
    )
    token = created["auth"]["client_token"]
    assert created["auth"]["policies"] == ["default", "readmounts"]
    assert created["auth"]["lease_duration"] == 1800
    limited = {"AWSBROKER_TOKEN": token}
    assert cli.run("read", "sys/mounts", env=limited).returncode == 0
    denied = cli.run("read", "aws/creds/anything", env=limited)
    assert denied.returncode == 2
    assert "permission denied" in denied.stderr

    looked_up = json.loads(cli.ok("token", "lookup", "-format=json", token))
    assert looked_up["data"]["policies"] == ["default", "readmounts"]
    accessor = looked_up["data"]["accessor"]
    by_accessor = json.loads(cli.ok("token", "lookup", "-accessor", "-format=json", accessor))
    assert by_accessor["data"]["accessor"] == accessor
    self_lookup = json.loads(cli.ok("token", "lookup", "-format=json", env=limited))
    assert self_lookup["data"]["id"] == token
    renewed = json.loads(cli.ok("token", "renew", "-increment=1h", "-format=json", token))
    assert renewed["auth"]["client_token"] == token
    cli.ok("token", "renew", env=limited)
    assert cli.ok("token", "revoke", token).strip() == "Success! Revoked token (if it existed)"
    assert cli.run("read", "sys/mounts", env=limited).returncode == 2
    other = cli.ok("token", "create", "-field=token", "-orphan", "-metadata=team=a")
    cli.ok("token", "revoke", "-self", env={"AWSBROKER_TOKEN": other})
    assert cli.run("token", "lookup", other).returncode == 2
    assert cli.run("token", "revoke").returncode == 1


def test_secrets_enable_list_tune_disable(cli: CLI) -> None:
    out = cli.ok("secrets", "enable", "-path=team-aws", "-description=team keys", "aws")
    assert out.strip() == "Success! Enabled the aws secrets engine at: team-aws/"
    mounts = json.loads(cli.ok("secrets", "list", "-format=json"))
    assert mounts["team-aws/"]["type"] == "aws"
    assert mounts["team-aws/"]["description"] == "team keys"
    table = cli.ok("secrets", "list", "-detailed")
    assert table.splitlines()[0].split()[:4] == ["Path", "Type", "Accessor", "Default"]
    assert any(line.startswith("team-aws/") for line in table.splitlines())
    cli.ok("secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", "team-aws")
    tuned = json.loads(cli.ok("read", "-format=json", "sys/mounts/team-aws/tune"))
    assert tuned["data"]["default_lease_ttl"] == 3600
    assert tuned["data"]["max_lease_ttl"] == 7200
    failed = cli.run("secrets", "tune", "-default-lease-ttl=3h", "team-aws")
    assert failed.returncode == 2
    cli.ok("secrets", "disable", "team-aws")
    assert "team-aws/" not in json.loads(cli.ok("secrets", "list", "-format=json"))


def test_audit_enable_list_disable(cli: CLI, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    out = cli.ok("audit", "enable", "-path=trail", "file", f"file_path={log}")
    assert out.strip() == "Success! Enabled the file audit device at: trail/"
    devices = json.loads(cli.ok("audit", "list", "-format=json"))
    assert devices["trail/"]["type"] == "file"
    assert devices["trail/"]["options"]["file_path"] == str(log)
    assert "trail/" in cli.ok("audit", "list", "-detailed")
    cli.ok("read", "sys/mounts")
    assert '"type":"response"' in log.read_text()
    cli.ok("audit", "disable", "trail")
    assert cli.ok("audit", "list").strip() == "No audit devices are enabled."
