"""The `awsbroker server` process itself: dev-mode banner, clean shutdown, config errors, and
storage in a format newer than the build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import hvac.exceptions
import pytest
from tests.support.fake_aws import FakeAWS
from tests.support.server import ServerFactory, config_text, free_port

from awsbroker.core.upgrade import FORMAT_PATH
from awsbroker.physical.postgresql import PostgreSQLStorage
from awsbroker.physical.sqlite import SQLiteStorage


def test_dev_server_prints_its_keys_and_they_work(servers: ServerFactory) -> None:
    server = servers.dev(root_token=None)
    log = server.log()
    root_token = re.search(r"Root Token: (\S+)", log)
    unseal_key = re.search(r"Unseal Key: ([0-9a-f]+)", log)
    assert root_token is not None, log
    assert unseal_key is not None, log
    assert root_token.group(1).startswith("hvs.")
    assert f"export VAULT_ADDR='http://127.0.0.1:{server.port}'" in log

    root = server.client(root_token.group(1))
    assert root.auth.token.lookup_self()["data"]["policies"] == ["root"]
    assert root.sys.list_mounted_secrets_engines()["data"]["aws/"]["type"] == "aws"
    status = root.sys.read_seal_status()
    assert (status["t"], status["n"], status["storage_type"]) == (1, 1, "inmem")
    leader = root.sys.read_leader_status()  # in memory: a node of its own, at the dev address
    assert (leader["ha_enabled"], leader["is_self"]) == (False, True)
    assert leader["leader_address"] == server.url
    root.sys.create_or_update_acl_policy("kept", 'path "sys/mounts" { capabilities = ["read"] }')

    root.sys.seal()
    with pytest.raises(hvac.exceptions.VaultDown):
        root.sys.list_acl_policies()
    assert root.sys.submit_unseal_key(unseal_key.group(1))["sealed"] is False
    assert "kept" in root.sys.list_acl_policies()["data"]["keys"]


def test_sigterm_is_a_clean_exit(servers: ServerFactory) -> None:
    server = servers.dev()
    assert server.client("root").is_authenticated() is True
    assert server.stop() == 0
    log = server.log()
    assert "Shutting down" in log
    assert "Traceback" not in log


def test_an_address_in_use_is_refused_not_shared(servers: ServerFactory) -> None:
    # The HTTP server binds with SO_REUSEPORT: without the check, a second server would
    # silently take a share of the first one's connections.
    first = servers.dev()
    [(code, stderr)] = run_servers(["--dev", "--dev-listen-address", f"127.0.0.1:{first.port}"])
    assert code == 1, stderr
    assert f"cannot listen on 127.0.0.1:{first.port}: Address already in use" in stderr
    assert "Traceback" not in stderr
    root = first.client("root")
    for _ in range(20):  # every connection still reaches the first server
        assert root.auth.token.lookup_self()["data"]["id"] == "root"


def run_servers(*argvs: list[str], prefix: Sequence[str] = ()) -> list[tuple[int, str]]:
    """Run several `awsbroker server` commands that should exit at once, in parallel, each
    after the command `prefix` if given (one that runs its arguments with fewer privileges).
    Returns (exit status, stderr) for each."""
    procs = [
        subprocess.Popen(
            [*prefix, sys.executable, "-m", "awsbroker.entry", "server", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        try:
            _, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
            proc.wait()
        results.append((proc.returncode, stderr))
    return results


def test_start_up_errors_exit_with_a_message(tmp_path: Path) -> None:
    port = free_port()
    configs = {
        "bad-storage.hcl": (config_text("etcd", {"path": "x"}, port), "storage 'etcd'"),
        "no-cert.hcl": (
            config_text("sqlite", {"path": str(tmp_path / "x.db")}, port).replace(
                "tls_disable = true", ""
            ),
            "tls_cert_file",
        ),
        "bad-hcl.hcl": ("storage sqlite {", "not valid HCL"),
        "bad-log-level.hcl": (
            config_text(
                "sqlite", {"path": str(tmp_path / "x.db")}, port, settings={"log_level": "loud"}
            ),
            "log_level must be one of",
        ),
        "absent.hcl": (None, "cannot read configuration file"),
        "unopenable-storage.hcl": (
            config_text("sqlite", {"path": str(tmp_path / "no-such-dir" / "x.db")}, port),
            f"cannot open the storage at {tmp_path / 'no-such-dir' / 'x.db'}: the directory",
        ),
    }  # fmt: skip
    for name, (text, _) in configs.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    argvs = [["--config", str(tmp_path / name)] for name in configs]
    results = run_servers(
        *argvs,
        [],
        ["--dev", "--dev-listen-address", "127.0.0.1:0x"],
    )
    expected = [(1, message) for _, message in configs.values()]
    expected += [(2, "--config"), (1, "HOST:PORT")]
    for (code, stderr), (want_code, message) in zip(results, expected, strict=True):
        assert code == want_code, stderr
        assert message in stderr, stderr
        assert "Traceback" not in stderr
    assert not (tmp_path / "x.db").exists()


def test_configured_ttls_and_cluster_name_apply(servers: ServerFactory) -> None:
    server = servers.sqlite(
        settings={
            "default_lease_ttl": "1h",
            "max_lease_ttl": "2h",
            "cluster_name": "it-cluster",
            "log_level": "warn",  # Vault's spelling
        }
    )
    init = server.init_and_unseal()
    root = server.client(init.root_token)
    assert root.sys.read_seal_status()["cluster_name"] == "it-cluster"
    assert root.sys.read_health_status(method="GET")["cluster_name"] == "it-cluster"
    assert root.auth.token.create(policies=["default"])["auth"]["lease_duration"] == 3600
    assert root.auth.token.create(policies=["default"], ttl="3h")["auth"]["lease_duration"] == 7200
    root.sys.enable_secrets_engine("aws", path="configured")
    tune = root.sys.read_mount_configuration("configured")["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)
    # A default above the server's max is accepted on tune, as OpenBao 2.7 does (checked side by
    # side), and capped at lease time (core/system/mount_tuning.py, apply_ttls).
    root.sys.tune_mount_configuration("configured", default_lease_ttl="3h")
    assert root.sys.read_mount_configuration("configured")["data"]["default_lease_ttl"] == 10800


def test_the_retired_aws_call_processes_still_start_the_server_with_one_warning(
    servers: ServerFactory,
) -> None:
    """A file or a command line from before the helper processes went still starts the server:
    the setting is ignored, the AWS calls are made in the server process, and one line says
    the setting can go."""
    server = servers.sqlite(settings={"aws_call_processes": 2}, start=False)
    server.args += ["--aws-call-processes", "many"]  # no longer checked
    server.start()
    root = server.client(server.init_and_unseal().root_token)
    root.sys.enable_secrets_engine("aws", path="aws")
    with FakeAWS(latency=0) as aws:
        root.write(
            "aws/config/root",
            access_key="AKIAEXAMPLE",
            secret_key="secret",
            region="us-east-1",
            iam_endpoint=aws.endpoint,
            sts_endpoint=aws.endpoint,
        )
        root.write("aws/roles/fed", credential_type="federation_token",
                   policy_document='{"Version":"2012-10-17","Statement":[]}')  # fmt: skip
        assert root.read("aws/creds/fed")["data"]["security_token"]
        assert aws.calls_by_action["GetFederationToken"] == 1
    assert server.proc is not None
    assert children(server.proc.pid) == []  # the call was made in the server process
    warnings = [line for line in server.log().splitlines() if "aws_call_processes" in line]
    assert len(warnings) == 1, warnings
    assert "aws_call_processes and --aws-call-processes: no longer used" in warnings[0]
    assert "AWS calls run in the server process" in warnings[0]


def children(pid: int) -> list[int]:
    """The server's child processes."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(child) for child in f.read().split()]
    return found


NEWER_FORMAT = b'{"version":2}'
TOO_NEW = "has format 2, newer than this build of awsbroker understands (1): upgrade this node"


def test_storage_in_a_newer_format_is_refused_at_start_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    storage = SQLiteStorage(str(path))
    storage.put(FORMAT_PATH, NEWER_FORMAT)
    storage.close()
    config = tmp_path / "newer.hcl"
    config.write_text(config_text("sqlite", {"path": str(path)}, free_port()))
    [(code, stderr)] = run_servers(["--config", str(config)])
    assert code == 1
    assert stderr == f"awsbroker server: the storage at {path} {TOO_NEW}\n"


@pytest.mark.postgres
def test_postgresql_in_a_newer_format_is_refused_without_showing_the_url(
    tmp_path: Path, pg_dsn: str, pg_table: str
) -> None:
    storage = PostgreSQLStorage(pg_dsn, table=pg_table)
    storage.put(FORMAT_PATH, NEWER_FORMAT)
    storage.close()
    config = tmp_path / "newer.hcl"
    storage_settings = {"connection_url": pg_dsn, "table": pg_table}
    config.write_text(config_text("postgresql", storage_settings, free_port()))
    [(code, stderr)] = run_servers(["--config", str(config)])
    assert code == 1
    assert stderr == f"awsbroker server: the storage at PostgreSQL table {pg_table} {TOO_NEW}\n"


def test_a_sealed_node_refuses_to_unseal_once_the_storage_is_newer(
    servers: ServerFactory,
) -> None:
    # Another node upgraded the storage while this one waited, sealed.
    server = servers.sqlite()
    init = server.initialize()
    storage = SQLiteStorage(str(server.workdir / "storage.db"))
    storage.put(FORMAT_PATH, NEWER_FORMAT)
    storage.close()
    refused = server.request("PUT", "sys/unseal", json={"key": init.keys[0]})
    assert refused.status_code == 500
    assert refused.json() == {"errors": [f"the storage {TOO_NEW}"]}
    status = server.request("GET", "sys/seal-status").json()
    assert (status["sealed"], status["progress"]) == (True, 0)
    assert "Traceback" not in server.log()
