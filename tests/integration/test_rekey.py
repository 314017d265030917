"""Rekey over HTTP: Vault's unauthenticated `sys/rekey/*` (raw bodies) and OpenBao's
authenticated `sys/rotate/root/*` (data envelope). After a rekey the old shares no longer
unseal and the new ones do, on this node after a restart and on another node of the same
PostgreSQL; shares given to two nodes count towards one attempt."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.support.server import UNAUTHED_ON, ServerFactory, ServerProcess
from tests.support.threads import run_together


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    resp = server.request(method, path, token, json=body)
    return resp.status_code, (resp.json() if resp.content else None)


def unseals_with(server: ServerProcess, keys: list[str]) -> bool:
    """Seal-status after giving `keys` to a sealed server (progress reset first)."""
    assert call(server, "PUT", "sys/unseal", {"reset": True})[0] == 200
    status: dict[str, Any] = {}
    for key in keys:
        code, status = call(server, "PUT", "sys/unseal", {"key": key})
        if code != 200:
            call(server, "PUT", "sys/unseal", {"reset": True})
            return False
    if status.get("sealed", True):
        call(server, "PUT", "sys/unseal", {"reset": True})
        return False
    return True


def test_rekey_gives_new_shares_and_retires_the_old(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(5, 3)
    code, status = call(server, "GET", "sys/rekey/init")
    assert code == 200
    assert status == {
        "nonce": "", "started": False, "t": 0, "n": 0, "progress": 0, "required": 3,
        "pgp_fingerprints": None, "backup": False, "verification_required": False,
    }  # fmt: skip

    # Bad input: a clear 400 and no attempt started.
    for body, message in [
        ({"secret_shares": 3, "secret_threshold": 5}, "threshold cannot be larger than shares"),
        ({"secret_shares": 3, "secret_threshold": 2, "backup": True}, "without providing PGP"),
        ({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["abc"]}, "no PGP support"),
    ]:
        code, answer = call(server, "PUT", "sys/rekey/init", body)
        assert code == 400, answer
        assert message in answer["errors"][0], answer
    assert call(server, "GET", "sys/rekey/init")[1]["started"] is False

    code, started = call(
        server, "PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2}
    )
    assert code == 200
    assert started["started"] is True
    assert (started["t"], started["n"]) == (2, 3)
    nonce = started["nonce"]
    code, again = call(server, "PUT", "sys/rekey/init", {"secret_shares": 3, "secret_threshold": 2})
    assert (code, again) == (400, {"errors": ["rekey already in progress"]})

    code, answer = call(server, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": "x"})
    assert code == 400
    assert "incorrect nonce supplied" in answer["errors"][0]
    assert call(server, "PUT", "sys/rekey/update", {"nonce": nonce})[1] == {
        "errors": ["'key' must be specified in request body as JSON"]
    }
    code, progress = call(server, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": nonce})
    assert code == 200
    assert progress["progress"] == 1
    assert progress["nonce"] == nonce
    code, answer = call(server, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": nonce})
    assert (code, answer["errors"]) == (
        400, ["given key has already been provided during this generation operation"]
    )  # fmt: skip
    call(server, "PUT", "sys/rekey/update", {"key": init.keys_base64[1], "nonce": nonce})
    code, done = call(server, "PUT", "sys/rekey/update", {"key": init.keys[2], "nonce": nonce})
    assert code == 200
    assert done["complete"] is True
    assert done["nonce"] == nonce
    assert len(done["keys"]) == len(done["keys_base64"]) == 3
    assert done["verification_required"] is False
    assert "verification_nonce" not in done
    new_keys: list[str] = done["keys"]
    assert call(server, "GET", "sys/rekey/init")[1]["started"] is False

    token = init.root_token
    assert server.request("PUT", "sys/seal", token).status_code == 204
    status = call(server, "GET", "sys/seal-status")[1]
    assert (status["t"], status["n"]) == (2, 3)
    assert not unseals_with(server, init.keys[:3])
    assert unseals_with(server, new_keys[1:])
    server.restart()
    assert not unseals_with(server, init.keys[:3])
    assert unseals_with(server, new_keys[:2])
    assert server.client(token).is_authenticated()
    assert "Traceback" not in server.log()


def test_wrong_shares_reset_progress_and_keep_the_old_keys(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    other = servers.sqlite(listener=UNAUTHED_ON).initialize(3, 2)  # shares of another server's key
    nonce = call(server, "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1})[1][
        "nonce"
    ]
    call(server, "PUT", "sys/rekey/update", {"key": other.keys[0], "nonce": nonce})
    code, answer = call(server, "PUT", "sys/rekey/update", {"key": other.keys[1], "nonce": nonce})
    assert code == 400, answer
    assert "root key verification failed" in answer["errors"][0]
    status = call(server, "GET", "sys/rekey/init")[1]
    assert (status["started"], status["progress"], status["nonce"]) == (True, 0, nonce)
    assert call(server, "DELETE", "sys/rekey/init")[0] == 204
    assert call(server, "GET", "sys/rekey/init")[1]["started"] is False
    assert server.request("PUT", "sys/seal", init.root_token).status_code == 204
    code, answer = call(server, "GET", "sys/rekey/init")
    assert (code, answer) == (503, {"errors": ["Vault is sealed"]})
    assert unseals_with(server, init.keys[:2])


def test_rotate_root_with_verification_needs_a_token(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    token = init.root_token
    assert call(server, "GET", "sys/rotate/root/init")[0] == 403
    code, body = call(server, "GET", "sys/rotate/root/init", token=token)
    assert code == 200
    assert body["data"] == {"started": False, "t": 0, "n": 0, "required": 2}
    code, body = call(
        server, "PUT", "sys/rotate/root/init",
        {"secret_shares": 2, "secret_threshold": 2, "require_verification": True}, token,
    )  # fmt: skip
    assert code == 200
    assert body["data"]["verification_required"] is True
    nonce = body["data"]["nonce"]
    assert call(server, "PUT", "sys/rotate/root/update", {"key": init.keys[0]}, token)[1] == {
        "errors": ["missing required field 'nonce'"]
    }
    call(server, "PUT", "sys/rotate/root/update", {"key": init.keys[0], "nonce": nonce}, token)
    body = call(
        server, "PUT", "sys/rotate/root/update", {"key": init.keys[1], "nonce": nonce}, token
    )[1]
    done = body["data"]
    assert done["complete"] is True
    assert done["verification_nonce"]
    new_keys = done["keys"]
    code, answer = call(
        server, "PUT", "sys/rotate/root/update", {"key": init.keys[2], "nonce": nonce}, token
    )
    assert code == 400
    assert "verification must be performed" in answer["errors"][0]

    # Until verified, the old keys are the keys.
    verify = call(server, "GET", "sys/rotate/root/verify", token=token)[1]["data"]
    assert verify["started"] is True
    assert verify["nonce"] == done["verification_nonce"]
    restarted = call(server, "DELETE", "sys/rotate/root/verify", token=token)[1]["data"]
    assert restarted["nonce"] != verify["nonce"]
    v_nonce = restarted["nonce"]
    body = call(
        server, "PUT", "sys/rotate/root/verify", {"key": new_keys[0], "nonce": v_nonce}, token
    )[1]
    assert body["data"]["progress"] == 1
    body = call(
        server, "PUT", "sys/rotate/root/verify", {"key": new_keys[1], "nonce": v_nonce}, token
    )[1]
    assert body["data"] == {"nonce": v_nonce, "complete": True}
    assert call(server, "GET", "sys/rotate/root/init", token=token)[1]["data"]["started"] is False

    code, answer = call(server, "GET", "sys/rotate/root/backup", token=token)
    assert (code, answer) == (400, {"errors": ["no backed-up keys found"]})
    assert call(server, "GET", "sys/rekey/backup", token=token)[0] == 400
    assert call(server, "GET", "sys/rekey/backup")[0] == 403  # sudo, as Vault
    assert call(server, "DELETE", "sys/rotate/root/backup", token=token)[0] == 204
    code, answer = call(
        server, "PUT", "sys/rotate/root/init",
        {"secret_shares": 1, "secret_threshold": 1, "backup": True}, token,
    )  # fmt: skip
    assert code == 400
    assert "without providing PGP keys" in answer["errors"][0]
    assert server.request("PUT", "sys/seal", token).status_code == 204
    assert not unseals_with(server, init.keys[:2])
    assert unseals_with(server, new_keys)


@pytest.mark.postgres
def test_shares_given_to_two_nodes_make_one_rekey(
    pg_dsn: str, pg_table: str, servers: ServerFactory
) -> None:
    a = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    b = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    init = a.init_and_unseal(5, 3)
    b.unseal(init.keys[:3])
    nonce = call(a, "PUT", "sys/rekey/init", {"secret_shares": 2, "secret_threshold": 2})[1][
        "nonce"
    ]
    assert call(b, "GET", "sys/rekey/init")[1]["nonce"] == nonce
    assert (
        call(a, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": nonce})[1]["progress"]
        == 1
    )
    assert (
        call(b, "PUT", "sys/rekey/update", {"key": init.keys[1], "nonce": nonce})[1]["progress"]
        == 2
    )
    code, answer = call(a, "PUT", "sys/rekey/update", {"key": init.keys[1], "nonce": nonce})
    assert code == 400
    assert "already been provided" in answer["errors"][0]
    done = call(a, "PUT", "sys/rekey/update", {"key": init.keys[4], "nonce": nonce})[1]
    assert done["complete"] is True
    assert call(b, "GET", "sys/rekey/init")[1]["started"] is False

    for server in (a, b):
        assert server.request("PUT", "sys/seal", init.root_token).status_code == 204
        assert not unseals_with(server, init.keys[:3])
        assert unseals_with(server, done["keys"])
    b.restart()
    assert unseals_with(b, done["keys"])
    assert b.client(init.root_token).is_authenticated()
    assert "Traceback" not in a.log() + b.log()


def test_an_attempt_outlives_a_restart_of_the_node_given_a_share(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    started = call(server, "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1})
    nonce = started[1]["nonce"]
    call(server, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": nonce})
    server.restart()
    server.unseal(init.keys[:2])
    status = call(server, "GET", "sys/rekey/init")[1]
    assert (status["started"], status["nonce"], status["progress"]) == (True, nonce, 1)
    done = call(server, "PUT", "sys/rekey/update", {"key": init.keys[2], "nonce": nonce})[1]
    assert done["complete"] is True
    assert len(done["keys"]) == 1


@pytest.mark.postgres
def test_shares_given_at_once_to_two_nodes_complete_once(
    pg_dsn: str, pg_table: str, servers: ServerFactory
) -> None:
    a = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    b = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    init = a.init_and_unseal(5, 3)
    b.unseal(init.keys[:3])
    body = {"secret_shares": 3, "secret_threshold": 2}
    nonce = call(a, "PUT", "sys/rekey/init", body)[1]["nonce"]
    answers: list[tuple[int, Any]] = []

    def give(n: int) -> None:
        node = (a, b)[n % 2]
        answers.append(call(node, "PUT", "sys/rekey/update", {"key": init.keys[n], "nonce": nonce}))

    run_together(3, give)
    assert sorted(code for code, _ in answers) == [200, 200, 200], answers
    done = [body for _, body in answers if body.get("complete")]
    assert len(done) == 1
    assert sorted(body["progress"] for _, body in answers if not body.get("complete")) == [1, 2]
    for server in (a, b):
        assert server.request("PUT", "sys/seal", init.root_token).status_code == 204
        assert unseals_with(server, done[0]["keys"][:2])


def test_a_backup_from_before_a_rekey_unseals_with_the_old_shares(
    servers: ServerFactory, tmp_path: Path
) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    assert server.stop() == 0
    backup = tmp_path / "backup.db"
    for suffix in ("", "-wal"):
        copied = Path(f"{server.workdir / 'storage.db'}{suffix}")
        if copied.exists():
            shutil.copyfile(copied, f"{backup}{suffix}")
    server.start()
    server.unseal(init.keys[:2])
    nonce = call(server, "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1})
    call(server, "PUT", "sys/rekey/update", {"key": init.keys[0], "nonce": nonce[1]["nonce"]})
    done = call(
        server, "PUT", "sys/rekey/update", {"key": init.keys[1], "nonce": nonce[1]["nonce"]}
    )
    new_key = done[1]["keys"][0]

    restored = servers.sqlite_file(str(backup), listener=UNAUTHED_ON)
    assert not unseals_with(restored, [new_key])
    assert unseals_with(restored, init.keys[1:])
