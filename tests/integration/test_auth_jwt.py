"""The JWT auth method end to end: a real dev server over HTTP, driven by hvac's own
`client.auth.jwt` methods, verifying tokens that a real OpenID provider on loopback (npm
`oidc-provider`, found through its discovery document) signed, and hand-signed tokens (keys
given as `jwt_validation_pubkeys`) for what a provider will not sign: expired, wrong audience.

Each test enables its own mount (a path of its own), so the tests share no config or role."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from tests.support import jwt_tokens
from tests.support.json_server import JsonServer
from tests.support.oidc_provider import OidcProvider
from tests.support.server import ServerProcess

AUDIENCE = "https://broker.example"
MAIN = "repo:acme/app:ref:refs/heads/main"
DEV = "repo:acme/app:ref:refs/heads/dev"
OTHER_ORG = "repo:evil/app:ref:refs/heads/main"
CLAIMS = {
    "repository": "acme/app",
    "ref": "refs/heads/main",
    "actor": "octocat",
    "teams": ["deploy", "ops"],
}
KEY = jwt_tokens.rsa_key()


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(clients=(MAIN, DEV, OTHER_ORG)) as p:
        yield p


@pytest.fixture
def mount(root_client: hvac.Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh `jwt` mount named after the test."""
    path = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    root_client.sys.enable_auth_method("jwt", path=path)
    try:
        yield path
    finally:
        root_client.sys.disable_auth_method(path)


def github_role(root: hvac.Client, mount: str, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "bound_audiences": [AUDIENCE],
        "bound_claims_type": "glob",
        "bound_claims": {"sub": "repo:acme/*:ref:refs/heads/main"},
        "claim_mappings": {"repository": "repository", "ref": "ref", "actor": "actor"},
        "token_policies": ["deployer"],
        "token_ttl": "10m",
        **changes,
    }
    root.auth.jwt.create_role("deploy", "sub", [], path=mount, **fields)


def login(server: ServerProcess, mount: str, token: str, role: str | None = "deploy") -> Any:
    return server.client().auth.jwt.jwt_login(role, token, use_token=False, path=mount)


def hand_signed(**claims: Any) -> str:
    now = int(time.time())
    return KEY.sign({"iss": "https://ci.example", "sub": MAIN, "iat": now, "exp": now + 300,
                     "aud": AUDIENCE, **claims})  # fmt: skip


def test_roles_and_config_through_hvac(root_client: hvac.Client, mount: str) -> None:
    jwt = root_client.auth.jwt
    jwt.configure(
        jwt_validation_pubkeys=[KEY.public_pem()],
        bound_issuer="https://ci.example",
        jwt_supported_algs=["RS256", "ES256"],
        default_role="deploy",
        path=mount,
    )
    config = jwt.read_config(path=mount)["data"]
    assert config["jwt_validation_pubkeys"] == [KEY.public_pem().strip()]
    assert config["jwt_supported_algs"] == ["RS256", "ES256"]
    assert (config["bound_issuer"], config["default_role"]) == ("https://ci.example", "deploy")

    github_role(root_client, mount, groups_claim="teams", token_bound_cidrs=["127.0.0.0/8"])
    jwt.create_role("other", "sub", [], bound_subject="x", path=mount)
    assert jwt.list_roles(path=mount)["data"]["keys"] == ["deploy", "other"]
    role = jwt.read_role("deploy", path=mount)["data"]
    assert role["role_type"] == "jwt"
    assert role["bound_claims"] == {"sub": "repo:acme/*:ref:refs/heads/main"}
    assert role["bound_claims_type"] == "glob"
    assert role["claim_mappings"] == {"repository": "repository", "ref": "ref", "actor": "actor"}
    assert (role["token_policies"], role["token_ttl"]) == (["deployer"], 600)
    assert role["token_bound_cidrs"] == ["127.0.0.0/8"]
    assert (role["groups_claim"], role["user_claim"]) == ("teams", "sub")

    jwt.create_role("deploy", "sub", [], token_ttl="20m", path=mount)  # an update keeps the rest
    role = jwt.read_role("deploy", path=mount)["data"]
    assert (role["token_ttl"], role["bound_audiences"]) == (1200, [AUDIENCE])

    jwt.delete_role("other", path=mount)
    assert jwt.list_roles(path=mount)["data"]["keys"] == ["deploy"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        jwt.read_role("other", path=mount)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"bound_audiences": None, "bound_claims": None}, "at least one bound constraint"),
        ({"bound_claims_type": "regex"}, "invalid 'bound_claims_type'"),
        ({"claim_mappings": {"sub": "role"}}, "metadata key 'role' is reserved"),
        ({"groups_claim": "teams", "claim_mappings": {"x": "groups"}}, "metadata key 'groups'"),
        ({"token_type": "batch"}, "batch tokens are not supported"),
        ({"expiration_leeway": "soon"}, "invalid expiration_leeway"),
        ({"role_type": "oidc"}, "'allowed_redirect_uris' must be set"),
    ],
)
def test_a_bad_role_is_a_400_naming_what_to_fix(
    root_client: hvac.Client, mount: str, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        github_role(root_client, mount, **fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url'"),
        ({"jwt_validation_pubkeys": ["junk"]}, "jwt_validation_pubkeys[0] is not a PEM"),
        ({"jwks_url": "file:///etc/passwd"}, "jwks_url must be an http(s) URL"),
        ({"oidc_discovery_url": "http://127.0.0.1:9"}, "error checking oidc discovery URL"),
        ({"jwt_supported_algs": ["HS256"]}, "invalid jwt_supported_algs: HS256"),
        ({"oidc_client_id": "web"}, "both 'oidc_client_id' and 'oidc_client_secret' must be set"),
        (
            {"oidc_client_id": "web", "oidc_client_secret": "s"},
            "'oidc_discovery_url' must be set for OIDC",
        ),
    ],
)
def test_a_bad_config_is_a_400_naming_what_to_fix(
    root_client: hvac.Client, mount: str, fields: dict[str, Any], message: str
) -> None:
    if "jwt_supported_algs" in fields or "oidc_client_id" in fields:
        fields = {"jwt_validation_pubkeys": [KEY.public_pem()], **fields}
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        root_client.auth.jwt.configure(path=mount, **fields)
    with pytest.raises(hvac.exceptions.InvalidPath):  # nothing was stored
        root_client.auth.jwt.read_config(path=mount)


def test_a_provider_token_logs_in_through_discovery(
    root_client: hvac.Client, dev_server: ServerProcess, provider: OidcProvider, mount: str
) -> None:
    root_client.auth.jwt.configure(oidc_discovery_url=provider.issuer,
                                   bound_issuer=provider.issuer, path=mount)  # fmt: skip
    github_role(root_client, mount, groups_claim="teams")
    token = provider.token(AUDIENCE, client=MAIN, claims=CLAIMS)

    auth = login(dev_server, mount, token)["auth"]

    assert auth["metadata"] == {
        "repository": "acme/app",
        "ref": "refs/heads/main",
        "actor": "octocat",
        "groups": "deploy,ops",
        "role": "deploy",
    }
    assert auth["policies"] == ["default", "deployer"]
    assert auth["lease_duration"] == 600
    looked_up = dev_server.client(auth["client_token"]).auth.token.lookup_self()["data"]
    assert looked_up["display_name"] == f"{mount}-{MAIN}"
    assert looked_up["path"] == f"auth/{mount}/login"
    assert looked_up["meta"] == auth["metadata"]


def test_bound_claims_globs_on_a_github_shaped_subject(
    root_client: hvac.Client, dev_server: ServerProcess, provider: OidcProvider, mount: str
) -> None:
    root_client.auth.jwt.configure(oidc_discovery_url=provider.issuer, path=mount)
    github_role(root_client, mount)
    assert login(dev_server, mount, provider.token(AUDIENCE, client=MAIN))["auth"]
    for client in (DEV, OTHER_ORG):
        with pytest.raises(InvalidRequest, match="claim 'sub' does not match any associated"):
            login(dev_server, mount, provider.token(AUDIENCE, client=client))
    with pytest.raises(InvalidRequest, match="aud claim does not match any expected audience"):
        login(dev_server, mount, provider.token("https://someone-else.example", client=MAIN))


def test_default_role_and_login_errors(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    with pytest.raises(InvalidRequest, match="could not load configuration"):
        login(dev_server, mount, hand_signed())
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount)
    with pytest.raises(InvalidRequest, match="missing role"):
        login(dev_server, mount, hand_signed(), role=None)
    with pytest.raises(InvalidRequest, match="role 'nope' could not be found"):
        login(dev_server, mount, hand_signed(), role="nope")
    with pytest.raises(InvalidRequest, match="missing token"):
        login(dev_server, mount, "")

    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()],
                                   default_role="deploy", path=mount)  # fmt: skip
    assert login(dev_server, mount, hand_signed(), role=None)["auth"]["metadata"]["role"] == (
        "deploy"
    )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"aud": "https://other.example"}, "aud claim does not match any expected audience"),
        ({"iat": 1000, "exp": 2000}, "invalid expiration time (exp) claim: token is expired"),
        ({"nbf": int(time.time()) + 3600}, "token not yet valid"),
        ({"sub": "repo:acme/app:pull_request"}, "claim 'sub' does not match"),
    ],
)
def test_hand_signed_tokens_that_must_fail(
    root_client: hvac.Client,
    dev_server: ServerProcess,
    mount: str,
    claims: dict[str, Any],
    message: str,
) -> None:
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount)
    assert login(dev_server, mount, hand_signed())["auth"]["client_token"]
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        login(dev_server, mount, hand_signed(**claims))


def test_forged_and_foreign_tokens_fail(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount)
    now = int(time.time())
    claims = {"sub": MAIN, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    cases = {
        jwt_tokens.unsigned(claims): "'none' is not one of jwt_supported_algs",
        jwt_tokens.hs256_keyed_with(KEY.public_pem().encode(), claims): "'HS256' is not one of",
        jwt_tokens.rsa_key().sign(claims): "no key verified it",
    }
    for token, message in cases.items():
        with pytest.raises(InvalidRequest, match=re.escape(message)):
            login(dev_server, mount, token)


def test_token_bound_cidrs_are_checked_at_login(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount, token_bound_cidrs=["10.0.0.0/8"])
    with pytest.raises(Forbidden):
        login(dev_server, mount, hand_signed())


def test_renewal_asks_the_role(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount)
    token = login(dev_server, mount, hand_signed())["auth"]["client_token"]
    assert dev_server.client(token).auth.token.renew_self()["auth"]["client_token"] == token

    github_role(root_client, mount, token_policies=["other"])
    with pytest.raises(InvalidRequest, match="policies have changed, not renewing"):
        dev_server.client(token).auth.token.renew_self()
    root_client.auth.jwt.delete_role("deploy", path=mount)
    with pytest.raises(InvalidRequest, match="role 'deploy' no longer exists"):
        dev_server.client(token).auth.token.renew_self()


def test_an_oidc_mount_serves_the_same_api(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    root_client.sys.enable_auth_method("oidc", path="oidc-jwt")
    try:
        root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()],
                                       path="oidc-jwt")  # fmt: skip
        github_role(root_client, "oidc-jwt")
        auth = login(dev_server, "oidc-jwt", hand_signed())["auth"]
        assert auth["metadata"]["role"] == "deploy"
        assert root_client.sys.list_auth_methods()["data"]["oidc-jwt/"]["type"] == "oidc"
    finally:
        root_client.sys.disable_auth_method("oidc-jwt")


def test_failed_logins_are_audited_without_the_token(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str, tmp_path: Path
) -> None:
    audit_log = tmp_path / "audit.log"
    root_client.sys.enable_audit_device("file", path="jwt-audit", options={
        "file_path": str(audit_log)
    })  # fmt: skip
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount)
    expired = hand_signed(iat=1000, exp=2000)
    try:
        with pytest.raises(InvalidRequest):
            login(dev_server, mount, expired)
    finally:
        root_client.sys.disable_audit_device("jwt-audit")
    text = audit_log.read_text()
    assert expired not in text
    entries = [json.loads(line) for line in text.splitlines() if line]
    failed = [
        e
        for e in entries
        if e["request"]["path"] == f"auth/{mount}/login" and e["type"] == "response"
    ]
    assert len(failed) == 1
    assert "token is expired" in failed[0]["error"]


def test_the_key_set_is_fetched_once_and_again_after_a_config_change(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    """Logins share the mount's cached key set; writing the config, even unchanged, makes the
    next login fetch it afresh, and a rotated key set is picked up then."""
    rotated = jwt_tokens.rsa_key(kid="rsa-2")
    with JsonServer() as jwks:
        jwks.documents["/keys"] = jwt_tokens.jwks(KEY)
        url = jwks.url + "/keys"
        root_client.auth.jwt.configure(jwks_url=url, path=mount)
        assert jwks.hits["/keys"] == 1  # the write's check
        github_role(root_client, mount)
        for _ in range(3):
            assert login(dev_server, mount, hand_signed())["auth"]["client_token"]
        assert jwks.hits["/keys"] == 2  # one fetch for all three logins

        jwks.documents["/keys"] = jwt_tokens.jwks(rotated)
        root_client.auth.jwt.configure(jwks_url=url, path=mount)  # the same config again
        now = int(time.time())
        claims = {"sub": MAIN, "aud": AUDIENCE, "exp": now + 60}
        assert login(dev_server, mount, rotated.sign(claims))["auth"]["client_token"]
        assert jwks.hits["/keys"] == 4  # the write's check, then the new config's first login


def test_renewal_takes_the_roles_ttls_as_they_are_now(
    root_client: hvac.Client, dev_server: ServerProcess, mount: str
) -> None:
    root_client.auth.jwt.configure(jwt_validation_pubkeys=[KEY.public_pem()], path=mount)
    github_role(root_client, mount, token_period="1h")
    token = login(dev_server, mount, hand_signed())["auth"]["client_token"]
    workload = dev_server.client(token)
    assert workload.auth.token.renew_self(increment="3h")["auth"]["lease_duration"] == 3600

    github_role(root_client, mount, token_period=0, token_max_ttl="30m")
    renewed = workload.auth.token.renew_self(increment="3h")["auth"]
    assert 1790 <= renewed["lease_duration"] <= 1800  # no longer periodic: the role's new max

    root_client.sys.tune_auth_method(mount, max_lease_ttl="10m")
    assert 590 <= workload.auth.token.renew_self()["auth"]["lease_duration"] <= 600
