"""`sys/host-info` and OpenBao's `sys/rotate/keyring` (issue 17 item 11), over HTTP and with
the real `bao` CLI. Both need `sudo`, as in Vault and OpenBao. host-info answers the keys
Vault's does (cpu, cpu_times, disk, host, memory, timestamp); the fields inside that the
standard library cannot read are left out (docs/compatibility.md)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hvac
from tests.support import bao
from tests.support.server import ROOT_TOKEN, ServerProcess

READER = 'path "sys/host-info" { capabilities = ["read"] }'
SUDO_READER = 'path "sys/host-info" { capabilities = ["read", "sudo"] }'
ROTATOR = 'path "sys/rotate/keyring" { capabilities = ["update"] }'


def token_with(client: hvac.Client, name: str, policy: str) -> str:
    client.sys.create_or_update_acl_policy(name, policy)
    token: str = client.auth.token.create(policies=[name])["auth"]["client_token"]
    return token


def test_host_info_needs_sudo_and_has_vaults_keys(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    without = token_with(root_client, "host-reader", READER)
    assert dev_server.request("GET", "sys/host-info", token=without).status_code == 403
    with_sudo = token_with(root_client, "host-sudo-reader", SUDO_READER)
    response = dev_server.request("GET", "sys/host-info", token=with_sudo)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"cpu", "cpu_times", "disk", "host", "memory", "timestamp"}
    stamp = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert data["cpu"]
    assert all(isinstance(c["cpu"], int) for c in data["cpu"])
    root = next(d for d in data["disk"] if d["path"] == "/")
    assert root["total"] == shutil.disk_usage("/").total
    assert {"hostname", "os", "kernelVersion", "kernelArch"} <= set(data["host"])
    assert data["memory"]["total"] > 0
    if Path("/proc/stat").exists():  # Linux: the times and the memory split are read
        assert {"user", "system", "idle"} <= set(data["cpu_times"][0])
        assert {"available", "free", "used", "usedPercent"} <= set(data["memory"])


def test_bao_operator_rotate_uses_rotate_keyring(
    dev_server: ServerProcess, root_client: hvac.Client, tmp_path: Path
) -> None:
    cli = bao.Bao(bao.require(), tmp_path / "bao-home", dev_server.url, ROOT_TOKEN)
    status = cli.run("operator", "key-status", "-format=json")
    assert status.returncode == 0, status.stderr
    before = json.loads(status.stdout)["term"]

    rotated = cli.run("operator", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert ["Key", "Term", str(before + 1)] in [
        line.split() for line in rotated.stdout.splitlines()
    ]
    status = cli.run("operator", "key-status", "-format=json")
    assert json.loads(status.stdout)["term"] == before + 1

    without = token_with(root_client, "keyring-rotator", ROTATOR)
    assert dev_server.request("POST", "sys/rotate/keyring", token=without).status_code == 403
    assert dev_server.request("POST", "sys/rotate/keyring", token=ROOT_TOKEN).status_code == 204
    assert root_client.read("sys/key-status")["data"]["term"] == before + 2
    # No automatic rotation here, so no config for it (docs/compatibility.md).
    assert (
        dev_server.request("GET", "sys/rotate/keyring/config", token=ROOT_TOKEN).status_code == 404
    )
