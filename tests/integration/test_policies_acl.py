"""ACL policies and their enforcement over HTTP (reference §4 and rules 32-36 of §13)."""

from __future__ import annotations

import json
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.support.server import ROOT_TOKEN, ServerProcess

POLICIES = {
    "mounts-reader": 'path "sys/mounts" { capabilities = ["read"] }',
    "mounts-deny": 'path "sys/mounts" { capabilities = ["deny"] }',
    "acl-writer": 'path "sys/policies/acl/*" '
    '{ capabilities = ["create", "read", "update", "delete", "list"] }',
    "acl-locked": 'path "sys/policies/acl/locked*" { capabilities = ["deny"] }\n'
    'path "sys/policies/acl/exact" { capabilities = ["deny"] }',
    "rotator": 'path "sys/rotate" { capabilities = ["update"] }',
    "sudo-rotator": 'path "sys/rotate" { capabilities = ["update", "sudo"] }',
    "deny-over-sudo": 'path "sys/rotate" { capabilities = ["update", "sudo", "deny"] }',
    "caps": 'path "aws/creds/*" { capabilities = ["read"] }\n'
    'path "aws/creds/admin" { capabilities = ["read", "update", "sudo"] }\n'
    'path "sys/policies/+/team" { capabilities = ["list", "read"] }\n',
    "admin-locked": 'path "sys/policies/acl/admin" { capabilities = ["deny"] }\n'
    'path "sys/policy/admin" { capabilities = ["deny"] }\n'
    'path "sys/policy/*" { capabilities = ["create", "read", "update", "delete"] }\n',
    "short-tokens": 'path "auth/token/create" {\n'
    '  capabilities = ["create", "update"]\n'
    '  allowed_parameters = { "ttl" = ["15m"], "meta" = [], "num_uses" = [1, 2] }\n'
    '  required_parameters = ["ttl"]\n'
    "}\n",
}


@pytest.fixture(scope="module", autouse=True)
def _policies(root_client: hvac.Client) -> None:
    for name, text in POLICIES.items():
        root_client.sys.create_or_update_acl_policy(name, text)


def token_for(client: hvac.Client, *policies: str, default: bool = True) -> str:
    auth = client.auth.token.create(policies=list(policies), no_default_policy=not default)["auth"]
    token: str = auth["client_token"]
    return token


def call(server: ServerProcess, method: str, path: str, token: str, **kw: Any) -> int:
    return server.request(method, path, token=token, **kw).status_code


# ---- enforcement ---------------------------------------------------------------------------


def test_a_token_limited_to_one_path_is_denied_everywhere_else(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token = token_for(root_client, "mounts-reader", default=False)
    before_mounts = root_client.sys.list_mounted_secrets_engines()["data"]
    before_policies = root_client.sys.list_acl_policies()["data"]["keys"]
    assert call(dev_server, "GET", "sys/mounts", token) == 200
    denied = [
        ("POST", "sys/mounts/sneaky", {"type": "aws"}),
        ("DELETE", "sys/mounts/aws", None),
        ("POST", "sys/mounts/aws/tune", {"default_lease_ttl": "1h"}),
        ("GET", "sys/mounts/aws/tune", None),
        ("LIST", "sys/policies/acl", None),
        ("PUT", "sys/policies/acl/sneaky", {"policy": POLICIES["mounts-reader"]}),
        ("DELETE", "sys/policies/acl/mounts-reader", None),
        ("GET", "auth/token/lookup-self", None),
        ("POST", "auth/token/create", {}),
        ("POST", "auth/token/revoke-self", None),
        ("POST", "sys/capabilities-self", {"paths": ["sys/mounts"]}),
        ("GET", "aws/config/root", None),
        ("LIST", "aws/roles", None),
        ("GET", "no/such/mount", None),
        ("PUT", "sys/seal", None),
        ("PUT", "sys/rotate", None),
    ]
    for method, path, body in denied:
        resp = dev_server.request(method, path, token=token, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
        assert resp.json() == {"errors": ["permission denied"]}, (method, path)
        assert resp.headers["Content-Type"] == "application/json"
    # Nothing was changed by the refused requests, and the token is still alive.
    assert root_client.sys.list_mounted_secrets_engines()["data"] == before_mounts
    assert root_client.sys.list_acl_policies()["data"]["keys"] == before_policies
    assert call(dev_server, "GET", "sys/mounts", token) == 200


def test_deny_beats_a_broader_grant_in_another_policy(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token = token_for(root_client, "acl-writer", "acl-locked")
    text = {"policy": POLICIES["mounts-reader"]}
    assert call(dev_server, "PUT", "sys/policies/acl/free-one", token, json=text) == 204
    assert call(dev_server, "GET", "sys/policies/acl/free-one", token) == 200
    assert call(dev_server, "PUT", "sys/policies/acl/locked-one", token, json=text) == 403
    assert call(dev_server, "PUT", "sys/policies/acl/exact", token, json=text) == 403
    assert call(dev_server, "GET", "sys/policies/acl/default", token) == 200
    assert call(dev_server, "GET", "sys/policies/acl/locked-x", token) == 403
    assert "locked-one" not in root_client.sys.list_acl_policies()["data"]["keys"]
    # Without the deny policy the same token shape may write there.
    writer = token_for(root_client, "acl-writer")
    assert call(dev_server, "PUT", "sys/policies/acl/locked-two", writer, json=text) == 204
    root_client.sys.delete_acl_policy("locked-two")
    root_client.sys.delete_acl_policy("free-one")


def test_deny_on_the_same_path_in_another_policy_wins(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    reader = token_for(root_client, "mounts-reader")
    both = token_for(root_client, "mounts-reader", "mounts-deny")
    assert call(dev_server, "GET", "sys/mounts", reader) == 200
    assert call(dev_server, "GET", "sys/mounts", both) == 403
    caps = dev_server.client(both).sys.get_capabilities(["sys/mounts"])
    assert caps["data"]["capabilities"] == ["deny"]


def test_sudo_paths_need_sudo(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    assert call(dev_server, "PUT", "sys/rotate", token_for(root_client, "rotator")) == 403
    assert call(dev_server, "PUT", "sys/rotate", token_for(root_client, "sudo-rotator")) == 204
    assert call(dev_server, "PUT", "sys/rotate", token_for(root_client, "deny-over-sudo")) == 403
    assert call(dev_server, "PUT", "sys/rotate", ROOT_TOKEN) == 204
    term = root_client.read("sys/key-status")
    assert term["data"]["term"] >= 3
    assert term["term"] == term["data"]["term"]


def test_policy_changes_apply_to_existing_tokens(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    root_client.sys.create_or_update_acl_policy(
        "changing", 'path "sys/nothing" { capabilities = ["read"] }'
    )
    token = token_for(root_client, "changing")
    assert call(dev_server, "GET", "sys/mounts", token) == 403
    root_client.sys.create_or_update_acl_policy("changing", POLICIES["mounts-reader"])
    assert call(dev_server, "GET", "sys/mounts", token) == 200
    root_client.sys.delete_acl_policy("changing")
    assert call(dev_server, "GET", "sys/mounts", token) == 403
    assert call(dev_server, "GET", "auth/token/lookup-self", token) == 200


def test_parameter_constraints_of_a_policy_are_enforced(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    token = token_for(root_client, "short-tokens")

    def create(body: dict[str, Any]) -> int:
        return call(dev_server, "POST", "auth/token/create", token, json=body)

    assert create({"ttl": "12h"}) == 403
    assert create({"ttl": "15m"}) == 200
    created = dev_server.request("POST", "auth/token/create", token=token, json={"ttl": "15m"})
    assert created.json()["auth"]["lease_duration"] == 900
    assert create({}) == 403  # ttl is required
    assert create({"meta": {"team": "a"}}) == 403
    assert create({"ttl": "15m", "display_name": "x"}) == 403  # a name the policy does not list
    assert create({"ttl": "15m", "meta": {"team": "a"}}) == 200
    assert create({"ttl": "15m", "num_uses": 2}) == 200  # a JSON number equals a listed one
    assert create({"ttl": "15m", "num_uses": 3}) == 403
    assert create({"ttl": "15m", "num_uses": "2"}) == 403  # ... and a string never does
    assert create({"ttl": "15m", "display_name": None}) == 200  # null: not sent
    assert create({"ttl": None}) == 403  # ... so it does not satisfy required_parameters
    assert create({"ttl": ""}) == 403  # "" would be the default TTL (compatibility.md)
    assert create({"ttl": "15m,15m"}) == 400  # allowed item by item; the handler refuses it
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert call(dev_server, "POST", "auth/token/create", token, data="ttl=12h", headers=form) == 403
    assert call(dev_server, "POST", "auth/token/create", token, data="ttl=15m", headers=form) == 200
    resp = dev_server.request("POST", "auth/token/create", token=token, json={"ttl": "12h"})
    assert resp.json() == {"errors": ["permission denied"]}


@pytest.mark.parametrize(
    "name", ["admin", "ADMIN", "Admin", "%20admin", "admin%20", "%09ADMIN%0A", "%20%20AdMiN"]
)
def test_a_deny_on_a_policy_name_holds_for_every_spelling_of_it(
    dev_server: ServerProcess, root_client: hvac.Client, name: str
) -> None:
    # Issue 14: names were normalised after the ACL check, so `ADMIN` or ` admin` reached the
    # `admin` policy past a deny on sys/policies/acl/admin.
    root_client.sys.create_or_update_acl_policy("admin", HCL_TEXT)
    token = token_for(root_client, "acl-writer", "admin-locked")
    text = {"policy": POLICIES["mounts-reader"]}
    for endpoint in ("sys/policies/acl/", "sys/policy/"):
        path = endpoint + name
        assert call(dev_server, "PUT", path, token, json=text) == 403, path
        assert call(dev_server, "GET", path, token) == 403, path
        assert call(dev_server, "DELETE", path, token) == 403, path
    assert root_client.sys.read_acl_policy("admin")["data"]["policy"] == HCL_TEXT
    # Other names stay writable, in any spelling.
    assert call(dev_server, "PUT", "sys/policies/acl/%20Admins", token, json=text) == 200
    assert call(dev_server, "DELETE", "sys/policy/ADMINS", token) == 204
    caps = dev_server.client(token).sys.get_capabilities(["sys/policies/acl/ ADMIN"])["data"]
    assert caps["capabilities"] == ["deny"]


# ---- capabilities --------------------------------------------------------------------------


def test_capabilities_self(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    root_caps = root_client.sys.get_capabilities(["aws/creds/r"])
    assert root_caps["data"]["aws/creds/r"] == ["root"]
    assert root_caps["data"]["capabilities"] == ["root"]

    client = dev_server.client(token_for(root_client, "caps"))
    one = client.sys.get_capabilities(["aws/creds/r"])
    assert one["data"] == {"aws/creds/r": ["read"], "capabilities": ["read"]}
    # sys/capabilities* answers are also injected at the top level (legacy clients).
    assert one["capabilities"] == ["read"]
    assert one["aws/creds/r"] == ["read"]

    paths = [
        "aws/creds/r",
        "aws/creds/admin",
        "sys/mounts",
        "sys/policies/x/team",
        "sys/policies/x/y/team",
    ]
    many = client.sys.get_capabilities(paths)["data"]
    assert many["aws/creds/r"] == ["read"]
    assert many["aws/creds/admin"] == ["read", "sudo", "update"]
    assert many["sys/mounts"] == ["deny"]
    assert many["sys/policies/x/team"] == ["list", "read"]
    assert many["sys/policies/x/y/team"] == ["deny"]
    assert "capabilities" not in many
    self_caps = client.sys.get_capabilities(["sys/capabilities-self"])["data"]
    assert self_caps["capabilities"] == ["update"]


def test_capabilities_of_another_token_or_accessor(
    dev_server: ServerProcess, root_client: hvac.Client
) -> None:
    auth = root_client.auth.token.create(policies=["caps"])["auth"]
    by_token = root_client.sys.get_capabilities(["aws/creds/x"], token=auth["client_token"])
    assert by_token["data"]["capabilities"] == ["read"]
    by_accessor = root_client.sys.get_capabilities(["aws/creds/x"], accessor=auth["accessor"])
    assert by_accessor["data"]["capabilities"] == ["read"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid token"):
        root_client.sys.get_capabilities(["aws/creds/x"], token="hvs.nope")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid accessor"):
        root_client.sys.get_capabilities(["aws/creds/x"], accessor="nope")
    # Asking about other tokens is not in the default policy.
    with pytest.raises(hvac.exceptions.Forbidden):
        dev_server.client(auth["client_token"]).sys.get_capabilities(
            ["aws/creds/x"], token=ROOT_TOKEN
        )


# ---- the policy endpoints ------------------------------------------------------------------

HCL_TEXT = '# comment kept\npath "sys/mounts" {\n  capabilities = ["read"]\n}\n'


def test_acl_policy_crud_is_byte_for_byte(root_client: hvac.Client) -> None:
    resp = root_client.sys.create_or_update_acl_policy("crud-hcl", HCL_TEXT)
    assert resp.status_code == 204
    assert root_client.sys.read_acl_policy("crud-hcl")["data"] == {
        "name": "crud-hcl",
        "policy": HCL_TEXT,
    }
    as_dict = {"path": {"sys/mounts": {"capabilities": ["read", "list"]}}}
    root_client.sys.create_or_update_acl_policy("crud-json", as_dict)
    stored = root_client.sys.read_acl_policy("crud-json")["data"]["policy"]
    assert stored == json.dumps(as_dict, indent=4, sort_keys=True)
    root_client.sys.create_or_update_acl_policy("crud-compact", as_dict, pretty_print=False)
    assert root_client.sys.read_acl_policy("crud-compact")["data"]["policy"] == json.dumps(as_dict)
    keys = root_client.sys.list_acl_policies()["data"]["keys"]
    assert {"crud-hcl", "crud-json", "crud-compact", "default", "root"} <= set(keys)
    assert keys == sorted(keys)
    for name in ("crud-hcl", "crud-json", "crud-compact"):
        assert root_client.sys.delete_acl_policy(name).status_code == 204
        with pytest.raises(hvac.exceptions.InvalidPath):
            root_client.sys.read_acl_policy(name)
    assert "crud-hcl" not in root_client.sys.list_acl_policies()["data"]["keys"]
    assert root_client.sys.delete_acl_policy("never-existed").status_code == 204


def test_legacy_policy_endpoints(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    listing = root_client.sys.list_policies()
    assert {"root", "default"} <= set(listing["data"]["policies"])
    assert listing["data"]["keys"] == listing["data"]["policies"]
    assert listing["policies"] == listing["data"]["policies"]
    text = 'path "sys/mounts/legacy*" { policy = "write" }\npath "sys/mounts" { policy = "read" }'
    assert root_client.sys.create_or_update_policy("legacy-write", text).status_code == 204
    read = root_client.sys.read_policy("legacy-write")
    assert read["data"] == {"name": "legacy-write", "rules": text}
    assert read["rules"] == text
    client = dev_server.client(token_for(root_client, "legacy-write"))
    assert client.sys.enable_secrets_engine("aws", path="legacy-aws").status_code == 204
    assert "legacy-aws/" in client.sys.list_mounted_secrets_engines()["data"]
    assert client.sys.disable_secrets_engine("legacy-aws").status_code == 204
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.enable_secrets_engine("aws", path="other-aws")
    caps = client.sys.get_capabilities(["sys/mounts", "sys/mounts/legacy-x"])["data"]
    assert caps["sys/mounts"] == ["list", "read"]
    assert caps["sys/mounts/legacy-x"] == ["create", "delete", "list", "read", "update"]
    assert root_client.sys.delete_policy("legacy-write").status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        root_client.sys.read_policy("legacy-write")


def test_policy_names_are_lowercased(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    resp = dev_server.request(
        "PUT", "sys/policies/acl/MixedCase", token=ROOT_TOKEN, json={"policy": HCL_TEXT}
    )
    assert resp.status_code == 200
    assert resp.json()["warnings"] == ["policy name was converted to lowercase: mixedcase"]
    keys = root_client.sys.list_acl_policies()["data"]["keys"]
    assert "mixedcase" in keys
    assert "MixedCase" not in keys
    assert root_client.sys.read_acl_policy("mixedcase")["data"]["name"] == "mixedcase"
    assert root_client.sys.read_acl_policy("MIXEDCASE")["data"]["policy"] == HCL_TEXT
    auth = root_client.auth.token.create(policies=["MixedCase"])["auth"]
    assert auth["policies"] == ["default", "mixedcase"]
    root_client.sys.delete_acl_policy("MixedCase")
    assert "mixedcase" not in root_client.sys.list_acl_policies()["data"]["keys"]


@pytest.mark.parametrize(
    "text",
    [
        'path "sys/mounts" { capabilities = ["read"',
        'path "sys/mounts" { capabilities = ["fly"] }',
        "this is not a policy",
        'path "sys/mounts" { policy = "everything" }',
    ],
)
def test_bad_policy_text_is_refused(root_client: hvac.Client, text: str) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest, match="failed to parse policy"):
        root_client.sys.create_or_update_acl_policy("broken", text)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root_client.sys.read_acl_policy("broken")
    assert "broken" not in root_client.sys.list_acl_policies()["data"]["keys"]


def test_empty_policy_is_refused(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root_client.sys.create_or_update_acl_policy("empty", "")
    assert "empty" not in root_client.sys.list_acl_policies()["data"]["keys"]


def test_builtin_policies_are_protected(root_client: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest, match="cannot delete default policy"):
        root_client.sys.delete_acl_policy("default")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="cannot delete default policy"):
        root_client.sys.delete_policy("default")
    with pytest.raises(hvac.exceptions.InvalidRequest, match='cannot update "root" policy'):
        root_client.sys.create_or_update_acl_policy("root", HCL_TEXT)
    with pytest.raises(hvac.exceptions.InvalidRequest, match='cannot update "root" policy'):
        root_client.sys.create_or_update_policy("Root", HCL_TEXT)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="root"):
        root_client.sys.delete_acl_policy("root")
    assert "default" in root_client.sys.list_acl_policies()["data"]["keys"]
    assert "lookup-self" in root_client.sys.read_acl_policy("default")["data"]["policy"]


def test_default_policy_is_editable(dev_server: ServerProcess, root_client: hvac.Client) -> None:
    original = root_client.sys.read_acl_policy("default")["data"]["policy"]
    token = token_for(root_client, "mounts-reader", default=True)
    assert call(dev_server, "GET", "auth/token/lookup-self", token) == 200
    try:
        root_client.sys.create_or_update_acl_policy("default", HCL_TEXT)
        assert root_client.sys.read_acl_policy("default")["data"]["policy"] == HCL_TEXT
        assert call(dev_server, "GET", "auth/token/lookup-self", token) == 403
    finally:
        root_client.sys.create_or_update_acl_policy("default", original)
    assert call(dev_server, "GET", "auth/token/lookup-self", token) == 200
