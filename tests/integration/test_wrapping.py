"""Response wrapping over HTTP, against a dev server: statuses, envelopes and error texts as a
real OpenBao 2.7 (`bao server -dev`) answers them, side by side."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import hvac
from tests.support.server import ROOT_TOKEN, ServerProcess

INVALID = "wrapping token is not valid or does not exist"
WRAP_INFO_KEYS = {"token", "accessor", "ttl", "creation_time", "creation_path"}


def wrapped(
    server: ServerProcess,
    method: str,
    path: str,
    ttl: str = "60",
    token: str = ROOT_TOKEN,
    **kw: Any,
) -> dict[str, Any]:
    resp = server.request(method, path, token, headers={"X-Vault-Wrap-TTL": ttl}, **kw)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def unwrap(server: ServerProcess, wrapping_token: str) -> Any:
    """Unwrap with the wrapping token as the request's token (the first-party way)."""
    return server.request("POST", "sys/wrapping/unwrap", wrapping_token)


def child(root_client: hvac.Client, **kw: Any) -> str:
    token: str = root_client.auth.token.create(**kw)["auth"]["client_token"]
    return token


def test_a_wrapped_token_creation_is_unwrapped_once(dev_server: ServerProcess) -> None:
    body = wrapped(dev_server, "POST", "auth/token/create", json={"policies": ["default"]})
    assert (body["request_id"], body["data"], body["auth"], body["lease_id"]) == (
        "",
        None,
        None,
        "",
    )
    info = body["wrap_info"]
    assert set(info) == WRAP_INFO_KEYS | {"wrapped_accessor"}
    assert (info["ttl"], info["creation_path"]) == (60, "auth/token/create")
    assert info["creation_time"].endswith("Z")

    looked = dev_server.request("POST", "sys/wrapping/lookup", json={"token": info["token"]})
    assert looked.status_code == 200  # no token needed
    assert looked.json()["data"] == {
        "creation_path": "auth/token/create",
        "creation_time": info["creation_time"],
        "creation_ttl": 60,
    }

    first = unwrap(dev_server, info["token"])
    assert first.status_code == 200
    inner = first.json()
    assert inner["request_id"]
    assert inner["wrap_info"] is None
    assert inner["auth"]["accessor"] == info["wrapped_accessor"]
    assert inner["auth"]["policies"] == ["default"]
    created = inner["auth"]["client_token"]
    assert dev_server.request("GET", "auth/token/lookup-self", created).status_code == 200

    for again in (
        unwrap(dev_server, info["token"]),
        dev_server.request(
            "POST", "sys/wrapping/unwrap", ROOT_TOKEN, json={"token": info["token"]}
        ),
        dev_server.request("POST", "sys/wrapping/lookup", json={"token": info["token"]}),
    ):
        assert (again.status_code, again.json()) == (400, {"errors": [INVALID]})


def test_a_third_party_unwraps_with_the_token_in_the_body(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", json={"foo": "bar", "n": 1})
    assert "wrapped_accessor" not in body["wrap_info"]
    assert body["wrap_info"]["creation_path"] == "sys/wrapping/wrap"
    holder = child(root_client, policies=["default"])
    resp = dev_server.request(
        "POST", "sys/wrapping/unwrap", holder, json={"token": body["wrap_info"]["token"]}
    )
    assert resp.status_code == 200
    assert resp.json()["data"] == {"foo": "bar", "n": 1}
    # hvac's own call reads it the same way.
    again = wrapped(dev_server, "POST", "sys/wrapping/wrap", json={"k": "v"})
    assert root_client.sys.unwrap(again["wrap_info"]["token"])["data"] == {"k": "v"}


def test_wrapping_errors_are_vaults(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    plain = dev_server.request("POST", "sys/wrapping/wrap", ROOT_TOKEN, json={"a": "b"})
    assert (plain.status_code, plain.json()) == (
        400,
        {"errors": ["endpoint requires response wrapping to be used"]},
    )
    for path in ("sys/wrapping/unwrap", "sys/wrapping/lookup"):
        none = dev_server.request("POST", path)
        assert (none.status_code, none.json()) == (
            403,
            {"errors": ["error validating wrapping token: token is empty"]},
        )
    # Not a wrapping token, or no such token: checked before the caller's policies.
    bare = child(root_client, policies=["nothing"], no_default_policy=True)
    for token, body in (
        (ROOT_TOKEN, {}),
        (bare, {"token": "hvs.bogus"}),
        (ROOT_TOKEN, {"token": ROOT_TOKEN}),
    ):
        resp = dev_server.request("POST", "sys/wrapping/unwrap", token, json=body)
        assert (resp.status_code, resp.json()) == (400, {"errors": [INVALID]})
    # A valid wrapping token in the body still needs a caller allowed to unwrap.
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", json={"a": "b"})
    denied = dev_server.request(
        "POST", "sys/wrapping/unwrap", bare, json={"token": body["wrap_info"]["token"]}
    )
    assert denied.status_code == 403
    assert unwrap(dev_server, body["wrap_info"]["token"]).json()["data"] == {"a": "b"}


def test_rewrap_moves_the_response_to_a_new_token(dev_server: ServerProcess) -> None:
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", "120", json={"foo": "bar"})
    old = body["wrap_info"]["token"]
    resp = dev_server.request("POST", "sys/wrapping/rewrap", ROOT_TOKEN, json={"token": old})
    assert resp.status_code == 200
    info = resp.json()["wrap_info"]
    assert (info["ttl"], info["creation_path"]) == (120, "sys/wrapping/wrap")
    assert info["token"] != old
    assert unwrap(dev_server, old).json() == {"errors": [INVALID]}
    assert unwrap(dev_server, info["token"]).json()["data"] == {"foo": "bar"}


def test_an_expired_wrapping_token_is_invalid(dev_server: ServerProcess) -> None:
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", "1s", json={"a": "b"})
    time.sleep(2.2)
    for resp in (
        unwrap(dev_server, body["wrap_info"]["token"]),
        dev_server.request(
            "POST", "sys/wrapping/lookup", json={"token": body["wrap_info"]["token"]}
        ),
    ):
        assert (resp.status_code, resp.json()) == (400, {"errors": [INVALID]})


def test_a_revoked_wrapping_token_is_gone(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", json={"a": "b"})
    root_client.auth.token.revoke_accessor(body["wrap_info"]["accessor"])
    resp = unwrap(dev_server, body["wrap_info"]["token"])
    assert (resp.status_code, resp.json()) == (400, {"errors": [INVALID]})


def test_the_wrapping_token_reads_its_cubbyhole_once(dev_server: ServerProcess) -> None:
    body = wrapped(dev_server, "POST", "sys/wrapping/wrap", json={"a": "b"})
    token = body["wrap_info"]["token"]
    resp = dev_server.request("GET", "cubbyhole/response", token)
    assert resp.status_code == 200
    assert json.loads(resp.json()["data"]["response"])["data"] == {"a": "b"}
    assert "Reading from 'cubbyhole/response' is deprecated" in resp.json()["warnings"][0]
    assert unwrap(dev_server, token).json() == {"errors": [INVALID]}  # its one use is spent


def test_nothing_to_wrap_is_not_wrapped(dev_server: ServerProcess) -> None:
    headers = {"X-Vault-Wrap-TTL": "60"}
    missing = dev_server.request("GET", "cubbyhole/nothing", ROOT_TOKEN, headers=headers)
    assert (missing.status_code, missing.json()) == (404, {"errors": []})
    written = dev_server.request(
        "POST", "cubbyhole/wrapped-write", ROOT_TOKEN, headers=headers, json={"a": "b"}
    )
    assert written.status_code == 204
    failed = dev_server.request(
        "POST", "auth/token/lookup", ROOT_TOKEN, headers=headers, json={"token": "nope"}
    )
    assert (failed.status_code, failed.json()) == (403, {"errors": ["bad token"]})


def test_the_response_wrapping_policy_is_built_in(dev_server: ServerProcess) -> None:
    read = dev_server.request("GET", "sys/policy/response-wrapping", ROOT_TOKEN)
    assert read.status_code == 200
    assert 'path "sys/wrapping/unwrap"' in read.json()["rules"]
    for method, path, body in (
        ("PUT", "sys/policy/response-wrapping", {"policy": 'path "x" { capabilities = ["read"] }'}),
        ("DELETE", "sys/policy/response-wrapping", None),
    ):
        resp = dev_server.request(method, path, ROOT_TOKEN, json=body)
        verb = "update" if method == "PUT" else "delete"
        assert (resp.status_code, resp.json()) == (
            400,
            {"errors": [f'cannot {verb} "response-wrapping" policy']},
        )
    listed = dev_server.request("GET", "sys/policy", ROOT_TOKEN).json()["policies"]
    assert "response-wrapping" not in listed
    refused = dev_server.request(
        "POST", "auth/token/create", ROOT_TOKEN, json={"policies": ["response-wrapping"]}
    )
    assert refused.status_code == 400


def test_policy_wrapping_ttls_are_enforced(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    root_client.sys.create_or_update_policy(
        "must-wrap",
        'path "sys/wrapping/wrap" {\n capabilities = ["update"]\n'
        " min_wrapping_ttl = 30\n max_wrapping_ttl = 90\n}\n",
    )
    token = child(root_client, policies=["must-wrap"], no_default_policy=True)
    for ttl, status in (("0", 403), ("10", 403), ("60", 200), ("91", 403)):
        headers = {"X-Vault-Wrap-TTL": ttl} if ttl != "0" else {}
        resp = dev_server.request(
            "POST", "sys/wrapping/wrap", token, headers=headers, json={"a": "b"}
        )
        assert resp.status_code == status, (ttl, resp.text)


def test_a_wrapped_approle_secret_id_names_its_accessor(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    root_client.sys.enable_auth_method("approle", path="wrap-approle")
    root_client.write("auth/wrap-approle/role/r", token_policies="default")
    body = wrapped(dev_server, "POST", "auth/wrap-approle/role/r/secret-id", json={})
    inner = root_client.sys.unwrap(body["wrap_info"]["token"])
    assert inner["data"]["secret_id_accessor"] == body["wrap_info"]["wrapped_accessor"]
    role_id = root_client.read("auth/wrap-approle/role/r/role-id")["data"]["role_id"]
    # A wrapped login: the token is in the wrapping token's cubbyhole.
    login = wrapped(
        dev_server,
        "POST",
        "auth/wrap-approle/login",
        token="",
        json={"role_id": role_id, "secret_id": inner["data"]["secret_id"]},
    )
    token = unwrap(dev_server, login["wrap_info"]["token"]).json()["auth"]["client_token"]
    assert login["wrap_info"]["wrapped_accessor"]
    assert dev_server.request("GET", "auth/token/lookup-self", token).status_code == 200


def audit_hash(root_client: hvac.Client, value: str) -> str:
    hashed: str = root_client.sys.calculate_hash("wrap-audit", value)["data"]["hash"]  # type: ignore[index]
    return hashed


def test_wrapping_is_audited_with_secrets_hashed(
    dev_server: ServerProcess, root_client: hvac.Client, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    root_client.sys.enable_audit_device("file", path="wrap-audit", options={"file_path": str(log)})
    try:
        body = wrapped(dev_server, "POST", "auth/token/create", json={"policies": ["default"]})
        token = body["wrap_info"]["token"]
        inner = unwrap(dev_server, token).json()
        unwrap(dev_server, token)  # invalid now: audited with its error
        signed = dev_server.request(
            "POST",
            "sys/wrapping/wrap",
            ROOT_TOKEN,
            headers={"X-Vault-Wrap-TTL": "60", "X-Vault-Wrap-Format": "jwt"},
            json={"a": "b"},
        ).json()["wrap_info"]["token"]
        claims = signed.split(".")[1]
        jti = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["jti"]
        jti_hash = audit_hash(root_client, jti)
    finally:
        root_client.sys.disable_audit_device("wrap-audit")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    text = log.read_text()
    for secret in (token, inner["auth"]["client_token"], body["wrap_info"]["accessor"]):
        assert secret not in text
    created = [
        e
        for e in entries
        if e["type"] == "response" and e["request"]["path"] == "auth/token/create"
    ]
    assert len(created) == 1
    request, response = created[0]["request"], created[0]["response"]
    assert request["wrap_ttl"] == 60
    info = response["wrap_info"]
    assert info["ttl"] == 60
    assert info["creation_path"] == "auth/token/create"
    assert all(
        info[k].startswith("hmac-sha256:") for k in ("token", "accessor", "wrapped_accessor")
    )
    assert "auth" not in response
    assert "data" not in response

    unwrapped = [e for e in entries if e["request"]["path"] == "sys/wrapping/unwrap"]
    answered = [e for e in unwrapped if e["type"] == "response" and "error" not in e]
    assert answered[0]["response"]["auth"]["client_token"].startswith("hmac-sha256:")
    # A JWT wrapping token is audited as the token it carries, hashed (as Vault).
    wraps = [
        e
        for e in entries
        if e["type"] == "response" and e["request"]["path"] == "sys/wrapping/wrap"
    ]
    assert wraps[-1]["response"]["wrap_info"]["token"] == jti_hash
    assert signed not in text
    refused = [e for e in unwrapped if e.get("error") == INVALID]
    assert refused
    assert refused[0]["type"] == "request"


def test_a_jwt_wrapping_token_unwraps_once(dev_server: ServerProcess) -> None:
    headers = {"X-Vault-Wrap-TTL": "60", "X-Vault-Wrap-Format": "jwt"}
    made = dev_server.request(
        "POST", "auth/token/create", ROOT_TOKEN, headers=headers, json={"policies": ["default"]}
    )
    info = made.json()["wrap_info"]
    signed = info["token"]
    header, claims, _ = signed.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "ES512"
    assert (decoded["type"], decoded["accessor"]) == ("wrapping", info["wrapped_accessor"])
    assert decoded["exp"] - decoded["iat"] == 60
    looked = dev_server.request("POST", "sys/wrapping/lookup", json={"token": signed})
    assert looked.json()["data"]["creation_path"] == "auth/token/create"
    forged = signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")
    refused = dev_server.request("POST", "sys/wrapping/unwrap", ROOT_TOKEN, json={"token": forged})
    assert refused.status_code == 403
    assert "wrapping token signature could not be validated" in refused.json()["errors"][0]
    inner = unwrap(dev_server, signed).json()  # the JWT as the request's token
    assert inner["auth"]["accessor"] == info["wrapped_accessor"]
    again = dev_server.request("POST", "sys/wrapping/unwrap", ROOT_TOKEN, json={"token": signed})
    assert (again.status_code, again.json()) == (400, {"errors": [INVALID]})
