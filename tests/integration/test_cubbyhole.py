"""`cubbyhole/` over HTTP: mounted by default, private to each token, refused by policy, gone
with its token (storage checked on a SQLite file), as OpenBao 2.7 answers side by side."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import hvac
from tests.support.reliability import wait_for
from tests.support.server import ROOT_TOKEN, ServerFactory, ServerProcess


def child(root_client: hvac.Client, **kw: Any) -> str:
    token: str = root_client.auth.token.create(**kw)["auth"]["client_token"]
    return token


def test_read_write_list_delete(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    token = child(root_client, policies=["default"])
    put = dev_server.request("POST", "cubbyhole/app/one", token, json={"n": 1, "o": {"p": [1, 2]}})
    assert put.status_code == 204
    assert dev_server.request("POST", "cubbyhole/top", token, json={"a": "b"}).status_code == 204
    read = dev_server.request("GET", "cubbyhole/app/one", token)
    assert (read.status_code, read.json()["data"]) == (200, {"n": 1, "o": {"p": [1, 2]}})
    assert read.json()["warnings"] is None
    listed = dev_server.request("LIST", "cubbyhole/", token)
    assert listed.json()["data"] == {"keys": ["app/", "top"]}
    assert dev_server.request("LIST", "cubbyhole/app", token).json()["data"] == {"keys": ["one"]}
    assert dev_server.request("LIST", "cubbyhole/top", token).status_code == 404  # not a folder
    assert dev_server.request("DELETE", "cubbyhole/top", token).status_code == 204
    assert dev_server.request("DELETE", "cubbyhole/never", token).status_code == 204
    gone = dev_server.request("GET", "cubbyhole/top", token)
    assert (gone.status_code, gone.json()) == (404, {"errors": []})
    # hvac's `read` and `write` work unchanged.
    client = dev_server.client(token)
    client.write("cubbyhole/hvac", value="v")
    assert client.read("cubbyhole/hvac")["data"] == {"value": "v"}


def test_a_token_never_sees_another_tokens_cubbyhole(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    one, two = child(root_client), child(root_client)
    dev_server.request("POST", "cubbyhole/mine", one, json={"secret": "one's"})
    for other in (two, ROOT_TOKEN):
        assert dev_server.request("GET", "cubbyhole/mine", other).status_code == 404
        assert dev_server.request("LIST", "cubbyhole/", other).json().get("data") != {
            "keys": ["mine"]
        }
    dev_server.request("POST", "cubbyhole/mine", two, json={"secret": "two's"})
    assert dev_server.request("GET", "cubbyhole/mine", one).json()["data"] == {"secret": "one's"}


def test_bad_requests_are_400s(dev_server: ServerProcess) -> None:
    empty = dev_server.request("POST", "cubbyhole/empty", ROOT_TOKEN)
    assert (empty.status_code, empty.json()) == (400, {"errors": ["missing data fields"]})
    root = dev_server.request("GET", "cubbyhole/", ROOT_TOKEN)
    assert (root.status_code, root.json()) == (400, {"errors": ["missing path"]})
    folder = dev_server.request("POST", "cubbyhole/dir/", ROOT_TOKEN, json={"a": "b"})
    assert (folder.status_code, folder.json()) == (
        400,
        {"errors": ["cannot write to a path ending in '/'"]},
    )
    assert dev_server.request("GET", "cubbyhole/dir/", ROOT_TOKEN).status_code == 404
    assert dev_server.request("DELETE", "cubbyhole/dir/", ROOT_TOKEN).status_code == 204
    dotted = dev_server.request("POST", "cubbyhole/a/%2E%2E/b", ROOT_TOKEN, json={"a": "b"})
    assert dotted.status_code in (400, 404)


def test_no_cubbyhole_without_a_policy_for_it(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    bare = child(root_client, policies=["nothing"], no_default_policy=True)
    resp = dev_server.request("POST", "cubbyhole/x", bare, json={"a": "b"})
    assert (resp.status_code, resp.json()) == (403, {"errors": ["permission denied"]})
    assert dev_server.request("GET", "cubbyhole/x", bare).status_code == 403


def test_the_mount_is_listed_as_vaults(dev_server: ServerProcess) -> None:
    mounts = dev_server.request("GET", "sys/mounts", ROOT_TOKEN).json()
    entry = mounts["data"]["cubbyhole/"]
    assert mounts["cubbyhole/"] == entry  # copied to the top level, as every mount
    assert (entry["type"], entry["local"], entry["seal_wrap"]) == ("cubbyhole", True, False)
    assert entry["description"] == "per-token private secret storage"
    assert entry["accessor"] == "cubbyhole_00000000"
    read = dev_server.request("GET", "sys/mounts/cubbyhole", ROOT_TOKEN)
    assert (read.status_code, read.json()["data"]["type"]) == (200, "cubbyhole")
    tune = dev_server.request("GET", "sys/mounts/cubbyhole/tune", ROOT_TOKEN)
    assert tune.json()["data"]["description"] == "per-token private secret storage"
    taken = dev_server.request("POST", "sys/mounts/cubbyhole", ROOT_TOKEN, json={"type": "aws"})
    assert taken.status_code == 400


def cubbyhole_keys(database: Path) -> list[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT key FROM kv WHERE key LIKE 'cubbyhole/%'").fetchall()
    return sorted(key for (key,) in rows)


def test_a_cubbyhole_goes_with_its_token(servers: ServerFactory) -> None:
    server = servers.sqlite()
    init = server.init_and_unseal()
    database = server.workdir / "storage.db"
    root = server.client(init.root_token)
    assert cubbyhole_keys(database) == []

    revoked = child(root, policies=["default"])
    server.request("POST", "cubbyhole/a", revoked, json={"secret": "x"})
    server.request("POST", "cubbyhole/b/c", revoked, json={"secret": "y"})
    keys = cubbyhole_keys(database)
    assert len(keys) == 2
    assert revoked not in "".join(keys)  # keyed by the token's HMAC, never the token
    root.auth.token.revoke(revoked)
    assert cubbyhole_keys(database) == []

    # Expiry: the expiry worker revokes the token, and its cubbyhole goes.
    expiring = child(root, policies=["default"], ttl="2s")
    server.request("POST", "cubbyhole/soon", expiring, json={"secret": "z"})
    assert len(cubbyhole_keys(database)) == 1
    time.sleep(2)
    wait_for(lambda: cubbyhole_keys(database) == [], timeout=10, what="the cubbyhole to go")
