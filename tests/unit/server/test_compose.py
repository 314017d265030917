"""The composition root: what the node says of itself, and the storage format it checks before
listening."""

from __future__ import annotations

from pathlib import Path

import pytest

from awsbroker.core.upgrade import FORMAT_PATH
from awsbroker.physical.sqlite import SQLiteStorage
from awsbroker.sdk.errors import InternalError, StorageTooNew
from awsbroker.server.compose import build, storage_failure, storage_location
from awsbroker.server.config import Listener, ServerConfig


def test_the_node_gives_the_listeners_url_unless_api_addr_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "node-7")
    listener = Listener(address="0.0.0.0:8200", tls_disable=True)
    derived = build(ServerConfig(listener=listener))
    given = build(
        ServerConfig(
            listener=listener,
            api_addr="https://broker-1.example.com",
            cluster_addr="https://broker-1.example.com:8201",
            node_dead_after=5,
        )
    )
    try:
        assert derived.core.nodes.api_address == "http://node-7:8200"
        assert derived.core.nodes.cluster_address == ""
        assert derived.core.nodes.dead_after == 30
        assert given.core.nodes.api_address == "https://broker-1.example.com"
        assert given.core.nodes.cluster_address == "https://broker-1.example.com:8201"
        assert given.core.nodes.dead_after == 5
    finally:
        derived.close()
        given.close()


def test_build_records_format_one_on_new_storage(tmp_path: Path) -> None:
    config = ServerConfig(storage_type="sqlite", storage={"path": str(tmp_path / "x.db")})
    build(config).close()
    storage = SQLiteStorage(str(tmp_path / "x.db"))
    assert storage.get(FORMAT_PATH) == b'{"version":1}'
    storage.close()


def test_build_refuses_storage_in_a_newer_format(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    storage = SQLiteStorage(path)
    storage.put(FORMAT_PATH, b'{"version":2}')
    storage.close()
    config = ServerConfig(storage_type="sqlite", storage={"path": path})
    with pytest.raises(StorageTooNew) as refused:
        build(config)
    assert refused.value.at(storage_location(config)) == (
        f"the storage at {path} has format 2, newer than this build of awsbroker understands "
        "(1): upgrade this node"
    )


def test_storage_location_never_shows_the_connection_url() -> None:
    secret = "postgresql://user:hunter2@db/awsbroker"
    pg = ServerConfig(storage_type="postgresql", storage={"connection_url": secret})
    assert storage_location(pg) == "PostgreSQL table awsbroker_kv"
    named = ServerConfig(
        storage_type="postgresql", storage={"connection_url": secret, "table": "kv"}
    )
    assert storage_location(named) == "PostgreSQL table kv"
    assert (
        storage_location(ServerConfig(storage_type="sqlite", storage={"path": "/x.db"})) == "/x.db"
    )
    assert storage_location(ServerConfig()) == "memory"


@pytest.mark.parametrize(
    ("url", "driver_says"),
    [
        (
            "postgresql://broker:s3cr3t-pw@db.example:5432/awsbroker",
            'connection to server at "db.example", port 5432 failed: s3cr3t-pw was refused',
        ),
        (
            "postgresql://broker:s3cr3t-pw@db.example:5432/awsbroker?bogus",
            'invalid URI query parameter: "postgresql://broker:s3cr3t-pw@db.example:5432/'
            'awsbroker?bogus"',
        ),
    ],
)
def test_a_storage_failure_is_one_line_without_the_password(url: str, driver_says: str) -> None:
    config = ServerConfig(storage_type="postgresql", storage={"connection_url": url})
    try:
        raise RuntimeError(driver_says + "\nDETAIL: more")
    except RuntimeError as cause:
        error = InternalError("storage unavailable")
        error.__cause__ = cause
    line = storage_failure(config, error)
    assert line.startswith("cannot open the storage at PostgreSQL table awsbroker_kv: ")
    assert "\n" not in line
    assert "s3cr3t-pw" not in line
