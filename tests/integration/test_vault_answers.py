"""Small answers that must be Vault's own (issue 17, items 3 and 6-9), over HTTP against a real
server. Each expectation was also sent to a real OpenBao 2.7.2 dev server (`bao server -dev`);
its answer is quoted in each test's docstring."""

from __future__ import annotations

import base64

import hvac
import pytest
from tests.support.server import ROOT_TOKEN, ServerProcess

READ_MOUNTS = 'path "sys/mounts" { capabilities = ["read"] }'


def _create(server: ServerProcess, body: dict[str, object]) -> dict[str, object]:
    resp = server.request("POST", "auth/token/create", token=ROOT_TOKEN, json=body)
    assert resp.status_code == 200, resp.text
    auth: dict[str, object] = resp.json()["auth"]
    return auth


# ---- item 3: `policies` of auth/token/create is Vault's TypeStringSlice ---------------------


def test_one_string_with_commas_is_one_policy_name(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    """OpenBao: `{"policies": "a,b"}` → `auth.policies == ["a,b", "default"]` (the request
    struct is decoded with mapstructure's WeakDecode: a lone string is a one-item slice)."""
    root_client.sys.create_or_update_acl_policy("reads-mounts", READ_MOUNTS)
    auth = _create(dev_server, {"policies": "reads-mounts,other", "no_default_policy": True})
    assert auth["policies"] == ["reads-mounts,other"]
    token = str(auth["client_token"])
    # No more than Vault grants: the token does not have `reads-mounts`.
    assert dev_server.request("GET", "sys/mounts", token=token).status_code == 403
    # A list still names several policies.
    listed = _create(dev_server, {"policies": ["reads-mounts", "other"]})
    assert listed["policies"] == ["default", "other", "reads-mounts"]
    assert dev_server.request("GET", "sys/mounts", token=str(listed["client_token"])).ok


def test_fields_vault_declares_comma_separated_still_split(dev_server: ServerProcess) -> None:
    """OpenBao: a token role's `allowed_policies` (TypeCommaStringSlice) written as "a,b"
    reads back as `["a", "b"]`; `disallowed_policies` "gamma, delta" as `["delta", "gamma"]`."""
    body = {"allowed_policies": "alpha,beta", "disallowed_policies": "gamma, delta"}
    resp = dev_server.request("POST", "auth/token/roles/splits", token=ROOT_TOKEN, json=body)
    assert resp.status_code == 204, resp.text
    role = dev_server.request("GET", "auth/token/roles/splits", token=ROOT_TOKEN).json()["data"]
    assert role["allowed_policies"] == ["alpha", "beta"]
    assert role["disallowed_policies"] == ["delta", "gamma"]


# ---- item 6: the sys mount and missing mounts ----------------------------------------------


def test_the_sys_mount_answers_its_tuning(dev_server: ServerProcess) -> None:
    """OpenBao: `GET sys/mounts/sys/tune` → 200, `default_lease_ttl`/`max_lease_ttl` (the
    system's 768h), `force_no_cache` false, `description` "system endpoints used for control,
    policy and debugging"; `GET sys/mounts/sys` → 200 with `type` "system"."""
    resp = dev_server.request("GET", "sys/mounts/sys/tune", token=ROOT_TOKEN)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["default_lease_ttl"] > 0
    assert data["max_lease_ttl"] > 0
    assert data["force_no_cache"] is False
    assert data["description"] == "system endpoints used for control, policy and debugging"
    assert resp.json()["default_lease_ttl"] == data["default_lease_ttl"]  # top-level copy
    mount = dev_server.request("GET", "sys/mounts/sys", token=ROOT_TOKEN)
    assert mount.status_code == 200, mount.text
    assert mount.json()["data"]["type"] == "system"


def test_reading_a_missing_mount_is_vaults_400(dev_server: ServerProcess) -> None:
    """OpenBao: `GET sys/mounts/nope` → 400 `{"errors": ["No secret engine mount at nope/"]}`."""
    resp = dev_server.request("GET", "sys/mounts/nope", token=ROOT_TOKEN)
    assert resp.status_code == 400
    assert resp.json() == {"errors": ["No secret engine mount at nope/"]}


# ---- item 7: an unknown token in the body is the request's fault, not the caller's ----------


def test_renewing_an_unknown_token_is_400_token_not_found(dev_server: ServerProcess) -> None:
    """OpenBao: `POST auth/token/renew {"token": "bogus"}` → 400 `token not found`;
    `auth/token/lookup` of it → 403 `bad token`; `auth/token/revoke` of it → 204."""
    body = {"token": "bogus"}
    renew = dev_server.request("POST", "auth/token/renew", token=ROOT_TOKEN, json=body)
    assert renew.status_code == 400
    assert renew.json() == {"errors": ["token not found"]}
    lookup = dev_server.request("POST", "auth/token/lookup", token=ROOT_TOKEN, json=body)
    assert lookup.status_code == 403
    assert lookup.json() == {"errors": ["bad token"]}
    revoke = dev_server.request("POST", "auth/token/revoke", token=ROOT_TOKEN, json=body)
    assert revoke.status_code == 204


# ---- item 8: a base64-encoded policy body ---------------------------------------------------


@pytest.mark.parametrize(
    ("write_path", "read_path", "key"),
    [
        ("sys/policies/acl/b64-acl", "sys/policies/acl/b64-acl", "policy"),
        ("sys/policy/b64-legacy", "sys/policy/b64-legacy", "rules"),
    ],
)
def test_a_base64_policy_is_decoded(
    dev_server: ServerProcess, write_path: str, read_path: str, key: str
) -> None:
    """OpenBao: a `policy` that is standard base64 of HCL is stored decoded, on both
    `sys/policies/acl/:name` (reads back as `policy`) and `sys/policy/:name` (as `rules`)."""
    encoded = base64.b64encode(READ_MOUNTS.encode()).decode()
    body = {"policy": encoded}
    assert dev_server.request("PUT", write_path, token=ROOT_TOKEN, json=body).status_code == 204
    stored = dev_server.request("GET", read_path, token=ROOT_TOKEN).json()["data"]
    assert stored[key] == READ_MOUNTS
    name = write_path.rsplit("/", 1)[1]
    token = str(_create(dev_server, {"policies": [name]})["client_token"])
    assert dev_server.request("GET", "sys/mounts", token=token).status_code == 200


# ---- item 9: LIST sys/policy -----------------------------------------------------------------


def test_list_of_legacy_policies_has_vaults_keys(dev_server: ServerProcess) -> None:
    """OpenBao: `LIST sys/policy` → `data` `{"keys": [...], "policies": [...]}` and both copied
    to the top level (as `GET sys/policy`); `LIST sys/policies/acl` → `data.keys` only."""
    resp = dev_server.request("LIST", "sys/policy", token=ROOT_TOKEN)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body["data"]) == {"keys", "policies"}
    assert body["data"]["keys"] == body["data"]["policies"]
    assert "root" in body["data"]["keys"]
    assert "default" in body["data"]["keys"]
    assert body["keys"] == body["policies"] == body["data"]["keys"]
    acl = dev_server.request("LIST", "sys/policies/acl", token=ROOT_TOKEN).json()
    assert set(acl["data"]) == {"keys"}
    assert "policies" not in acl
