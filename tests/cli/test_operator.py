"""`operator init|unseal|seal|status` and `status` on a fresh server, sealed and unsealed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.support.cli import CLI
from tests.support.server import ServerProcess, config_server


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ServerProcess]:
    workdir = tmp_path / "server"
    workdir.mkdir()
    server = config_server(workdir, "sqlite", {"path": str(workdir / "storage.db")})
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_init_unseal_seal_round_trip(fresh: ServerProcess, tmp_path: Path) -> None:
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": fresh.url})
    not_yet = cli.run("operator", "init", "-status")
    assert not_yet.returncode == 2
    assert cli.run("read", "sys/mounts", env={"AWSBROKER_TOKEN": "x"}).returncode == 2

    init = json.loads(
        cli.ok("operator", "init", "-key-shares=3", "-key-threshold=2", "-format=json")
    )
    keys, root = init["unseal_keys_b64"], init["root_token"]
    assert len(keys) == 3
    assert cli.ok("operator", "init", "-status").strip() == "Server is initialized"

    sealed = cli.run("status")
    assert sealed.returncode == 2  # Vault's status code for "sealed"
    assert "Unseal Progress    0/2" in sealed.stdout
    refused = cli.run("read", "sys/mounts", env={"AWSBROKER_TOKEN": root})
    assert refused.returncode == 2
    assert "Code: 503" in refused.stderr
    assert "awsbroker operator unseal" in refused.stderr

    progress = json.loads(cli.ok("operator", "unseal", "-format=json", keys[0]))
    assert progress["sealed"] is True
    assert progress["progress"] == 1
    cli.ok("operator", "unseal", "-reset")
    cli.ok("operator", "unseal", keys[1])
    done = cli.ok("operator", "unseal", "-", stdin=keys[2] + "\n")
    assert "Sealed          false" in done
    unsealed = cli.run("status")
    assert unsealed.returncode == 0
    # SQLite can be shared by several processes: each is an active node of one cluster.
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in unsealed.stdout.splitlines())
    assert (rows["HA Enabled"], rows["HA Cluster"], rows["HA Mode"]) == ("true", "n/a", "active")
    assert datetime.fromisoformat(rows["Active Since"].replace("Z", "+00:00")).tzinfo == UTC
    as_json = json.loads(cli.ok("status", "-format=json"))
    assert (as_json["ha_enabled"], as_json["is_self"]) == (True, True)
    assert as_json["leader_address"] == fresh.url

    cli.ok("login", root)
    assert cli.ok("operator", "seal").strip() == "Success! The server is sealed."
    assert cli.run("status").returncode == 2


def test_table_init_output_lists_shares_and_root_token(
    fresh: ServerProcess, tmp_path: Path
) -> None:
    cli = CLI(tmp_path / "home", {"AWSBROKER_ADDR": fresh.url})
    out = cli.ok("operator", "init", "-key-shares=1", "-key-threshold=1")
    assert out.startswith("Unseal Key 1: ")
    assert "Initial Root Token: hvs." in out
