"""Root token generation over HTTP: Vault's unauthenticated `sys/generate-root/*` (raw
bodies), OpenBao's authenticated `sys/generate-root-token/*` (data envelope) and
`sys/decode-token`. The encoded token is unpadded base64 of the token XOR the OTP, as Vault's
`roottoken.EncodeToken`; the new root token works on every node of one PostgreSQL."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from tests.support.server import UNAUTHED_ON, ServerFactory, ServerProcess

OTP = "BMjzW3wAsEzINXCM05Wbas3u9zSl"  # hvac's test OTP: 28 characters, a token's length


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    resp = server.request(method, path, token, json=body)
    return resp.status_code, (resp.json() if resp.content else None)


def xor_decode(encoded: str, otp: str) -> str:
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode()


def test_generate_root_with_an_otp(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(5, 3)
    code, status = call(server, "GET", "sys/generate-root/attempt")
    assert code == 200
    assert status == {
        "nonce": "", "started": False, "progress": 0, "required": 3, "complete": False,
        "encoded_token": "", "encoded_root_token": "", "pgp_fingerprint": "", "otp": "",
        "otp_length": 28,
    }  # fmt: skip
    for body, message in [
        ({"otp": "short"}, "OTP string has incorrect length"),
        ({"pgp_key": "abc"}, "no PGP support"),
    ]:
        code, answer = call(server, "PUT", "sys/generate-root/attempt", body)
        assert code == 400, answer
        assert message in answer["errors"][0], answer
    assert call(server, "GET", "sys/generate-root/attempt")[1]["started"] is False

    code, started = call(server, "PUT", "sys/generate-root/attempt", {"otp": OTP})
    assert code == 200
    assert started["started"] is True
    assert started["otp"] == ""
    nonce = started["nonce"]
    code, answer = call(server, "PUT", "sys/generate-root/attempt", {"otp": OTP})
    assert (code, answer) == (400, {"errors": ["root generation already in progress"]})
    code, answer = call(server, "PUT", "sys/generate-root/update", {"key": init.keys[0]})
    assert code == 400
    assert "incorrect nonce supplied" in answer["errors"][0]
    for key in init.keys[:2]:
        code, progress = call(
            server, "PUT", "sys/generate-root/update", {"key": key, "nonce": nonce}
        )
        assert code == 200
        assert progress["complete"] is False
        assert progress["encoded_token"] == ""
    code, done = call(
        server, "PUT", "sys/generate-root/update", {"key": init.keys[2], "nonce": nonce}
    )
    assert code == 200
    assert done["complete"] is True
    assert done["progress"] == 3
    assert done["encoded_token"] == done["encoded_root_token"]
    assert "=" not in done["encoded_token"]
    assert call(server, "GET", "sys/generate-root/attempt")[1]["started"] is False

    token = xor_decode(done["encoded_token"], OTP)
    assert token.startswith("hvs.")
    assert token != init.root_token
    code, decoded = call(
        server, "PUT", "sys/decode-token", {"encoded_token": done["encoded_token"], "otp": OTP}
    )
    assert code == 200
    assert decoded["data"] == {"token": token}
    code, answer = call(server, "PUT", "sys/decode-token", {"encoded_token": "", "otp": OTP})
    assert (code, answer) == (400, {"errors": ["provided 'encoded_token' or 'otp' is empty"]})
    looked_up = server.client(token).auth.token.lookup_self()["data"]
    assert looked_up["policies"] == ["root"]
    assert looked_up["path"] == "auth/token/root"

    # Cancel; and wrong shares abort the attempt's progress.
    call(server, "PUT", "sys/generate-root/attempt", {"otp": OTP})
    assert call(server, "DELETE", "sys/generate-root/attempt")[0] == 204
    assert call(server, "GET", "sys/generate-root/attempt")[1]["started"] is False
    assert "Traceback" not in server.log()


def test_generate_root_token_makes_the_otp_and_needs_a_token(servers: ServerFactory) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    other = servers.sqlite(listener=UNAUTHED_ON).initialize(3, 2)
    assert call(server, "GET", "sys/generate-root-token/attempt")[0] == 403
    code, body = call(server, "PUT", "sys/generate-root-token/attempt", {}, init.root_token)
    assert code == 200
    started = body["data"]
    otp = started["otp"]
    assert len(otp) == started["otp_length"] == 28
    assert started["started"] is True
    nonce = started["nonce"]
    assert call(
        server, "PUT", "sys/generate-root-token/update", {"key": init.keys[0]}, init.root_token
    )[1] == {"errors": ["nonce is required"]}

    # Shares of another key: refused, progress cleared, attempt kept.
    call(
        server,
        "PUT",
        "sys/generate-root-token/update",
        {"key": other.keys[0], "nonce": nonce},
        init.root_token,
    )
    code, answer = call(
        server,
        "PUT",
        "sys/generate-root-token/update",
        {"key": other.keys[1], "nonce": nonce},
        init.root_token,
    )
    assert code == 400
    assert "root generation aborted" in answer["errors"][0]
    status = call(server, "GET", "sys/generate-root-token/attempt", token=init.root_token)[1][
        "data"
    ]
    assert (status["progress"], status["otp"], status["nonce"]) == (0, "", nonce)

    for key in init.keys[1:]:
        body = call(
            server,
            "PUT",
            "sys/generate-root-token/update",
            {"key": key, "nonce": nonce},
            init.root_token,
        )[1]
    done = body["data"]
    assert done["complete"] is True
    assert "encoded_root_token" not in done
    assert server.client(xor_decode(done["encoded_token"], otp)).is_authenticated()


@pytest.mark.postgres
def test_shares_given_to_two_nodes_make_a_root_token_for_both(
    pg_dsn: str, pg_table: str, servers: ServerFactory
) -> None:
    a = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    b = servers.postgresql(pg_dsn, pg_table, listener=UNAUTHED_ON)
    init = a.init_and_unseal(3, 2)
    b.unseal(init.keys[:2])
    nonce = call(a, "PUT", "sys/generate-root/attempt", {"otp": OTP})[1]["nonce"]
    assert call(b, "GET", "sys/generate-root/attempt")[1]["nonce"] == nonce
    assert (
        call(b, "PUT", "sys/generate-root/update", {"key": init.keys[2], "nonce": nonce})[1][
            "progress"
        ]
        == 1
    )
    done = call(a, "PUT", "sys/generate-root/update", {"key": init.keys[0], "nonce": nonce})[1]
    assert done["complete"] is True
    token = xor_decode(done["encoded_token"], OTP)
    for server in (a, b):
        assert server.client(token).is_authenticated()
        assert call(server, "GET", "sys/generate-root/attempt")[1]["started"] is False
    assert "Traceback" not in a.log() + b.log()


def test_shares_otps_keys_and_tokens_are_audited_only_as_hmacs(
    servers: ServerFactory, tmp_path: Path
) -> None:
    server = servers.sqlite(listener=UNAUTHED_ON)
    init = server.init_and_unseal(3, 2)
    audit_log = tmp_path / "audit.log"
    server.client(init.root_token).sys.enable_audit_device(
        "file", options={"file_path": str(audit_log)}
    )
    nonce = call(server, "PUT", "sys/generate-root/attempt", {"otp": OTP})[1]["nonce"]
    for key in init.keys[:2]:
        done = call(server, "PUT", "sys/generate-root/update", {"key": key, "nonce": nonce})[1]
    encoded = done["encoded_token"]
    token = call(server, "PUT", "sys/decode-token", {"encoded_token": encoded, "otp": OTP})[1]
    new_token = token["data"]["token"]
    root = init.root_token
    body = {"secret_shares": 1, "secret_threshold": 1}
    nonce = call(server, "PUT", "sys/rotate/root/init", body, root)[1]["data"]["nonce"]
    call(server, "PUT", "sys/rotate/root/update", {"key": init.keys[1], "nonce": nonce}, root)
    answer = call(
        server, "PUT", "sys/rotate/root/update", {"key": init.keys[2], "nonce": nonce}, root
    )
    new_key = answer[1]["data"]["keys"][0]
    written = audit_log.read_text() + server.log()
    assert "sys/generate-root/update" in written
    assert "sys/rotate/root/update" in written
    secrets = [OTP, encoded, new_token, new_key, *init.keys, *init.keys_base64]
    for secret in secrets:
        assert secret not in written
