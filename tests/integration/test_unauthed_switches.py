"""The listener's `disable_unauthed_rekey_endpoints` and
`disable_unauthed_generate_root_endpoints` (OpenBao 2.5+), true unless set to false: then
Vault's token-less `sys/rekey/{init,update,verify}` and `sys/generate-root/{attempt,update}` are
gone, as in OpenBao 2.7.2: every method answers 405 `{"errors":["unsupported operation"]}`, with
the root token or without (sealed: 503 `Vault is sealed` first, as OpenBao's), and nothing
starts or cancels an attempt. The token paths (`sys/rotate/root/*`,
`sys/generate-root-token/*`), `sys/rekey/backup` and `sys/decode-token` stay. Each switch set
to false serves its family alone."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.server import UNAUTHED_ON, ServerFactory, ServerProcess

REKEY = ["sys/rekey/init", "sys/rekey/update", "sys/rekey/verify"]
GENERATE_ROOT = ["sys/generate-root/attempt", "sys/generate-root/update"]
GONE = {"errors": ["unsupported operation"]}
METHODS = ["GET", "PUT", "POST", "DELETE"]


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    resp = server.request(method, path, token, json=body)
    return resp.status_code, (resp.json() if resp.content else None)


def assert_gone(server: ServerProcess, paths: list[str], token: str | None) -> None:
    for path in paths:
        for method in METHODS:
            for who in (None, token):
                resp = server.request(method, path, who, json={})
                assert resp.status_code == 405, (method, path, who, resp.text)
                assert resp.json() == GONE
                assert resp.headers["Content-Type"] == "application/json"
                assert resp.headers["Cache-Control"] == "no-store"


def test_by_default_the_token_less_paths_are_gone(servers: ServerFactory) -> None:
    server = servers.sqlite()
    sealed_answer = server.request("GET", "sys/rekey/init")
    assert (sealed_answer.status_code, sealed_answer.json()) == (
        503,
        {"errors": ["Vault is sealed"]},
    )
    init = server.init_and_unseal(3, 2)
    root = init.root_token
    audit_log = server.workdir / "audit.log"
    server.client(root).sys.enable_audit_device("file", options={"file_path": str(audit_log)})
    assert_gone(server, REKEY + GENERATE_ROOT, root)
    # Nothing was started by those requests; the token paths work, and see no attempt.
    code, rotation = call(server, "GET", "sys/rotate/root/init", token=root)
    assert (code, rotation["data"]["started"]) == (200, False)
    code, generation = call(server, "GET", "sys/generate-root-token/attempt", token=root)
    assert (code, generation["data"]["started"]) == (200, False)
    # Refused before the audit devices see them, as OpenBao's (the paths are not there).
    audited = audit_log.read_text()
    assert "sys/generate-root-token/attempt" in audited
    assert "sys/rekey/" not in audited
    assert "sys/generate-root/" not in audited
    # The token paths still need a token.
    assert call(server, "GET", "sys/rotate/root/init")[0] == 403
    assert call(server, "GET", "sys/generate-root-token/attempt")[0] == 403
    # An attempt started on a token path cannot be cancelled without a token.
    code, started = call(server, "PUT", "sys/generate-root-token/attempt", {}, root)
    assert (code, started["data"]["started"]) == (200, True)
    assert call(server, "DELETE", "sys/generate-root/attempt")[0] == 405
    code, still = call(server, "GET", "sys/generate-root-token/attempt", token=root)
    assert still["data"]["nonce"] == started["data"]["nonce"]
    assert call(server, "DELETE", "sys/generate-root-token/attempt", token=root)[0] == 204
    code, rotating = call(
        server, "PUT", "sys/rotate/root/init", {"secret_shares": 1, "secret_threshold": 1}, root
    )
    assert (code, rotating["data"]["started"]) == (200, True)
    assert call(server, "DELETE", "sys/rekey/init")[0] == 405
    assert call(server, "GET", "sys/rotate/root/init", token=root)[1]["data"]["started"]
    assert call(server, "DELETE", "sys/rotate/root/init", token=root)[0] == 204
    # decode-token stays, without a token, as OpenBao's.
    code, decoded = call(server, "PUT", "sys/decode-token", {"encoded_token": "AAAA", "otp": "B"})
    assert code == 400, decoded
    # rekey/backup is not one of them: it needs a token (and sudo), as before.
    assert call(server, "GET", "sys/rekey/backup")[0] == 403
    assert call(server, "GET", "sys/rekey/backup", token=root)[0] == 400
    assert "Traceback" not in server.log()


@pytest.mark.parametrize(
    ("switch", "served", "gone"),
    [
        ("disable_unauthed_rekey_endpoints", REKEY, GENERATE_ROOT),
        ("disable_unauthed_generate_root_endpoints", GENERATE_ROOT, REKEY),
    ],
)
def test_each_switch_serves_its_own_paths(
    servers: ServerFactory, switch: str, served: list[str], gone: list[str]
) -> None:
    server = servers.sqlite(listener={switch: "false"})
    root = server.init_and_unseal(1, 1).root_token
    assert_gone(server, gone, root)
    code, status = call(server, "GET", served[0])
    assert (code, status["started"]) == (200, False)


def test_switched_on_they_answer_without_a_token(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    server.init_and_unseal(1, 1)
    code, started = call(server, "PUT", "sys/generate-root/attempt", {})
    assert (code, started["started"]) == (200, True)
    assert call(server, "DELETE", "sys/generate-root/attempt")[0] == 204
    code, started = call(
        server, "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}
    )
    assert (code, started["started"]) == (200, True)
    assert call(server, "DELETE", "sys/rekey/init")[0] == 204


def test_a_token_allowed_on_generate_root_token_needs_no_sudo(servers: ServerFactory) -> None:
    """As OpenBao's: `update` on `sys/generate-root-token/*` is enough (no sudo), so an
    administrator's token can run a root token generation on a default server."""
    server = servers.sqlite()
    root = server.init_and_unseal(1, 1).root_token
    policy = 'path "sys/generate-root-token/*" { capabilities = ["read", "update", "delete"] }'
    admin = server.client(root)
    admin.sys.create_or_update_acl_policy("roots", policy)
    token = admin.auth.token.create(policies=["roots"])["auth"]["client_token"]
    code, started = call(server, "PUT", "sys/generate-root-token/attempt", {}, token)
    assert (code, started["data"]["started"]) == (200, True)
    assert call(server, "DELETE", "sys/generate-root-token/attempt", token=token)[0] == 204
    assert call(server, "GET", "sys/rotate/root/init", token=token)[0] == 403
