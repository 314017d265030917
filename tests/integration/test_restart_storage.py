"""Durable storage across restarts, and nothing secret in it (SQLite and PostgreSQL).

Each test initialises a config-file server, writes a policy, creates tokens, enables and tunes a
mount, stops the server (which must exit 0 on SIGTERM), starts it again on the same storage,
unseals it with a different subset of the key shares and finds everything where it was. Then it
reads the raw storage and checks that no secret or policy text appears in plaintext.
"""

from __future__ import annotations

import secrets
import stat
from collections.abc import Callable
from pathlib import Path

import hvac
import hvac.exceptions
import psycopg
import pytest
from psycopg import sql
from tests.support.server import ServerFactory, ServerProcess

MOUNT = "persisted-aws"


def sqlite_bytes(server: ServerProcess) -> bytes:
    """The database file and its WAL/SHM companions, as they are on disk."""
    files = sorted(server.workdir.glob("storage.db*"))
    assert files, "no SQLite files found"
    return b"".join(path.read_bytes() for path in files)


def postgresql_bytes(dsn: str, table: str) -> bytes:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(sql.SQL("SELECT key, value FROM {}").format(sql.Identifier(table)))
        return b"\n".join(key.encode() + b"\0" + bytes(value) for key, value in rows.fetchall())


def exercise_restart(server: ServerProcess, raw_storage: Callable[[], bytes]) -> None:
    marker = f"marker-{secrets.token_hex(8)}"
    policy_text = (
        f'# {marker} policy comment\npath "sys/mounts" {{ capabilities = ["read"] }}\n'
        f'path "{marker}/*" {{ capabilities = ["read", "list"] }}\n'
    )
    init = server.initialize(5, 3)
    server.unseal(init.keys[:3])
    root = server.client(init.root_token)
    root.sys.create_or_update_acl_policy("persisted", policy_text)
    auth = root.auth.token.create(
        policies=["persisted"], ttl="2h", meta={"owner": f"{marker}-meta"}, display_name="keeper"
    )["auth"]
    token, accessor = auth["client_token"], auth["accessor"]
    gone = root.auth.token.create(policies=["persisted"])["auth"]["client_token"]
    root.auth.token.revoke(gone)
    root.sys.enable_secrets_engine("aws", path=MOUNT, description="survives restarts")
    root.sys.tune_mount_configuration(MOUNT, default_lease_ttl="1h", max_lease_ttl="3h")
    assert root.write("sys/rotate").status_code == 204
    assert root.read("sys/key-status")["data"]["term"] == 2

    exit_code = server.stop()
    assert exit_code == 0, server.log()
    assert "Traceback" not in server.log()
    server.start()

    status = server.client().sys.read_seal_status()
    assert (status["initialized"], status["sealed"], status["t"], status["n"]) == (True, True, 3, 5)
    assert server.request("GET", "sys/mounts", token=init.root_token).status_code == 503
    with pytest.raises(hvac.exceptions.InvalidRequest, match="already initialized"):
        server.client().sys.initialize(1, 1)
    server.unseal(init.keys[2:])

    assert root.sys.read_acl_policy("persisted")["data"]["policy"] == policy_text
    assert "persisted" in root.sys.list_acl_policies()["data"]["keys"]
    client = server.client(token)
    data = client.auth.token.lookup_self()["data"]
    assert data["id"] == token
    assert data["accessor"] == accessor
    assert data["policies"] == ["default", "persisted"]
    assert data["meta"] == {"owner": f"{marker}-meta"}
    assert data["display_name"] == "token-keeper"
    assert 0 < data["ttl"] <= 7200
    assert root.auth.token.lookup_accessor(accessor)["data"]["accessor"] == accessor
    assert MOUNT + "/" in client.sys.list_mounted_secrets_engines()["data"]
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.enable_secrets_engine("aws", path="not-allowed")
    with pytest.raises(hvac.exceptions.Forbidden):
        server.client(gone).auth.token.lookup_self()
    mount = root.sys.list_mounted_secrets_engines()["data"][MOUNT + "/"]
    assert (mount["type"], mount["description"]) == ("aws", "survives restarts")
    tune = root.sys.read_mount_configuration(MOUNT)["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 10800)
    assert root.auth.token.lookup_self()["data"]["policies"] == ["root"]
    assert root.read("sys/key-status")["data"]["term"] == 2

    stored = raw_storage()
    assert b"core/keyring" in stored  # we are looking at the right storage
    for secret in (policy_text, marker, token, accessor, init.root_token, gone):
        assert secret.encode() not in stored, f"{secret!r} is stored in plaintext"
    for share in init.keys + init.keys_base64:
        assert share.encode() not in stored
    for share in init.keys:
        assert bytes.fromhex(share) not in stored


def test_sqlite_storage_survives_a_restart(servers: ServerFactory) -> None:
    server = servers.sqlite()
    exercise_restart(server, lambda: sqlite_bytes(server))


@pytest.mark.postgres
def test_postgresql_storage_survives_a_restart(
    pg_dsn: str, pg_table: str, servers: ServerFactory
) -> None:
    server = servers.postgresql(pg_dsn, pg_table)
    exercise_restart(server, lambda: postgresql_bytes(pg_dsn, pg_table))
    assert server.client().sys.read_seal_status()["storage_type"] == "postgresql"


def test_sqlite_storage_after_a_clean_stop_is_complete(servers: ServerFactory) -> None:
    """After SIGTERM the main database file alone (WAL checkpointed) holds the data."""
    server = servers.sqlite()
    init = server.init_and_unseal()
    server.client(init.root_token).sys.enable_secrets_engine("aws", path="checkpointed")
    assert server.stop() == 0
    wal = Path(str(server.workdir / "storage.db") + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    server.start()
    server.unseal(init.keys)
    listing = server.client(init.root_token).sys.list_mounted_secrets_engines()["data"]
    assert "checkpointed/" in listing


def test_a_server_makes_its_sqlite_files_private(servers: ServerFactory) -> None:
    """The database, and the -wal and -shm files beside it, are the owner's alone (0600)."""
    server = servers.sqlite()
    server.init_and_unseal()
    database = server.workdir / "storage.db"
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_sqlite_writes_survive_a_crash(servers: ServerFactory) -> None:
    """Every acknowledged write is on disk: SIGKILL right after them loses nothing."""
    server = servers.sqlite()
    init = server.init_and_unseal(3, 2)
    root = server.client(init.root_token)
    root.sys.create_or_update_acl_policy("before-crash", 'path "a" { capabilities = ["read"] }')
    token = root.auth.token.create(policies=["before-crash"])["auth"]["client_token"]
    root.sys.enable_secrets_engine("aws", path="before-crash")
    assert server.kill() == -9
    server.start()
    server.unseal(init.keys[1:])
    assert "before-crash" in root.sys.list_acl_policies()["data"]["keys"]
    assert root.auth.token.lookup(token)["data"]["policies"] == ["before-crash", "default"]
    assert "before-crash/" in root.sys.list_mounted_secrets_engines()["data"]
