"""The OIDC browser flow end to end: a real dev server over HTTP driven by hvac's
`client.auth.oidc` calls, and a real OpenID provider on loopback (npm `oidc-provider`) serving
the authorization code flow to a web client, whose login and consent pages answer at once for
one account (no browser). The test plays the browser: it follows the provider's redirects from
`auth_url` to the redirect URI, then hands the code and state to `oidc/callback`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hvac
import pytest
from hvac.exceptions import InvalidRequest
from tests.support import jwt_tokens
from tests.support.json_server import JsonServer
from tests.support.oidc_provider import OidcProvider
from tests.support.server import ServerProcess

REDIRECT = "http://127.0.0.1:8250/oidc/callback"
WEB = {
    "client_id": "broker-web",
    "client_secret": "broker-web-secret",
    "redirect_uris": [REDIRECT, "http://127.0.0.1:9999/oidc/callback"],
    "account": "alice",
    "claims": {"email": "alice@example.com", "groups": ["admins", "ops"]},
}
MOUNT = "oidc"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(web=WEB) as p:
        yield p


def enable(client: hvac.Client, path: str, issuer: str) -> None:
    """An `oidc` mount at `path` for `issuer`, with the role `people`."""
    client.sys.enable_auth_method("oidc", path=path)
    client.auth.oidc.configure(
        oidc_discovery_url=issuer,
        oidc_client_id=WEB["client_id"],
        oidc_client_secret=WEB["client_secret"],
        default_role="people",
        path=path,
    )
    client.auth.oidc.create_role(
        "people",
        user_claim="email",
        allowed_redirect_uris=[REDIRECT],
        oidc_scopes=["profile"],
        groups_claim="groups",
        claim_mappings={"email": "email"},
        token_policies=["readers"],
        role_type="oidc",
        path=path,
    )


@pytest.fixture(scope="module")
def oidc(root_client: hvac.Client, provider: OidcProvider) -> Iterator[hvac.Client]:
    enable(root_client, MOUNT, provider.issuer)
    try:
        yield root_client
    finally:
        root_client.sys.disable_auth_method(MOUNT)


def browse(auth_url: str, redirect: str = REDIRECT) -> dict[str, str]:
    """What a browser would do: follow the provider's redirects to `redirect`; its query."""
    url = httpx.URL(auth_url)
    with httpx.Client(timeout=10) as browser:
        for _ in range(10):
            answer = browser.get(url)
            assert answer.status_code in (302, 303), answer.text[:500]
            url = url.join(answer.headers["location"])
            if str(url).startswith(redirect):
                return {k: v[0] for k, v in parse_qs(urlsplit(str(url)).query).items()}
    raise AssertionError("the provider never redirected back")


def start(server: ServerProcess, redirect: str = REDIRECT, mount: str = MOUNT, **body: Any) -> str:
    response = server.request(
        "POST", f"auth/{mount}/oidc/auth_url", json={"redirect_uri": redirect, **body}
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["data"]["auth_url"]
    return url


def test_a_person_logs_in_through_the_provider(
    oidc: hvac.Client, dev_server: ServerProcess, provider: OidcProvider
) -> None:
    url = oidc.auth.oidc.oidc_authorization_url_request("people", REDIRECT, path=MOUNT)["data"][
        "auth_url"
    ]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(provider.discovery()["authorization_endpoint"])
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid profile"]
    assert query["client_id"] == [WEB["client_id"]]
    assert query["state"]
    assert query["nonce"]

    back = browse(url)
    client = dev_server.client()
    auth = client.auth.oidc.oidc_callback(back["state"], "", back["code"], path=MOUNT)["auth"]

    assert auth["metadata"] == {
        "email": "alice@example.com",
        "groups": "admins,ops",
        "role": "people",
    }
    assert auth["policies"] == ["default", "readers"]
    looked_up = dev_server.client(auth["client_token"]).auth.token.lookup_self()["data"]
    assert looked_up["display_name"] == f"{MOUNT}-alice@example.com"
    assert looked_up["path"] == f"auth/{MOUNT}/oidc/callback"

    with pytest.raises(InvalidRequest, match="Expired or missing OAuth state"):  # used once
        client.auth.oidc.oidc_callback(back["state"], "", back["code"], path=MOUNT)


def test_the_config_read_never_shows_the_client_secret(oidc: hvac.Client) -> None:
    config = oidc.auth.oidc.read_config(path=MOUNT)["data"]
    assert config["oidc_client_id"] == WEB["client_id"]
    assert WEB["client_secret"] not in str(config)
    assert oidc.auth.oidc.read_role("people", path=MOUNT)["data"]["oidc_scopes"] == ["profile"]


def test_a_loopback_redirect_may_use_any_port_and_others_are_refused(
    oidc: hvac.Client, dev_server: ServerProcess
) -> None:
    other_port = "http://127.0.0.1:9999/oidc/callback"
    back = browse(start(dev_server, other_port), other_port)
    response = dev_server.request("GET", f"auth/{MOUNT}/oidc/callback", params=back)
    assert response.status_code == 200, response.text
    for bad in ("https://evil.example/oidc/callback", "http://127.0.0.1:8250/elsewhere"):
        response = dev_server.request(
            "POST", f"auth/{MOUNT}/oidc/auth_url", json={"redirect_uri": bad}
        )
        assert response.status_code == 400
        assert f"unauthorized redirect_uri: {bad}" in response.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state": "made-up"}, "Expired or missing OAuth state."),
        ({"code": "made-up"}, "error exchanging the OIDC code: the provider answered 400"),
        ({"code": ""}, "OAuth code parameter not provided"),
        ({"client_nonce": "other"}, "invalid client_nonce"),
    ],
)
def test_a_bad_callback_is_a_400(
    oidc: hvac.Client, dev_server: ServerProcess, change: dict[str, str], message: str
) -> None:
    back = browse(start(dev_server, client_nonce="cli-nonce"))
    params = {"state": back["state"], "code": back["code"], "client_nonce": "cli-nonce", **change}
    response = dev_server.request("GET", f"auth/{MOUNT}/oidc/callback", params=params)
    assert response.status_code == 400
    assert message in response.text


def test_an_oidc_role_cannot_log_in_with_a_bare_jwt(
    oidc: hvac.Client, dev_server: ServerProcess
) -> None:
    token = jwt_tokens.rsa_key().sign({"sub": "x", "exp": 2_000_000_000})
    with pytest.raises(InvalidRequest, match="role with oidc role_type is not allowed"):
        dev_server.client().auth.jwt.jwt_login("people", token, path=MOUNT)


def test_what_auth_url_stores_is_capped_in_size(
    root_client: hvac.Client, dev_server: ServerProcess, provider: OidcProvider
) -> None:
    """`auth_url` needs no token and keeps a state record for ten minutes: the caller's values
    in it are capped (a 256-byte client_nonce, a 2048-byte redirect URI)."""
    enable(root_client, "oidc-capped", provider.issuer)
    try:
        start(dev_server, mount="oidc-capped", client_nonce="n" * 256)
        long_uri = REDIRECT.replace("127.0.0.1", "u" * 2048 + "@127.0.0.1")
        for body, message in [
            ({"client_nonce": "n" * 257}, "client_nonce is longer than 256 bytes"),
            ({"redirect_uri": long_uri}, "redirect_uri is longer than 2048 bytes"),
        ]:
            response = dev_server.request(
                "POST", "auth/oidc-capped/oidc/auth_url", json={"redirect_uri": REDIRECT, **body}
            )
            assert response.status_code == 400, response.text
            assert response.json() == {"errors": [message]}
    finally:
        root_client.sys.disable_auth_method("oidc-capped")


def test_every_auth_url_call_spends_a_login_throttle_attempt(
    root_client: hvac.Client, dev_server: ServerProcess, provider: OidcProvider
) -> None:
    """Each state stored costs the caller's address one attempt of the mount's login throttle
    (20 at once, then 10 a minute): an unauthenticated caller cannot fill the storage."""
    enable(root_client, "oidc-flood", provider.issuer)
    try:
        for _ in range(20):
            start(dev_server, mount="oidc-flood")
        response = dev_server.request(
            "POST", "auth/oidc-flood/oidc/auth_url", json={"redirect_uri": REDIRECT}
        )
        assert response.status_code == 429, response.text
        assert int(response.headers["Retry-After"]) > 0
        # Spent, but not failures: an alert on failed logins stays quiet for people logging in.
        text = root_client.adapter.get("/v1/sys/metrics", params={"format": "prometheus"}).text
        assert 'awsbroker_login_throttled_total{mount="auth/oidc-flood/"} 1' in text
        assert 'awsbroker_login_failures_total{mount="auth/oidc-flood/"}' not in text
    finally:
        root_client.sys.disable_auth_method("oidc-flood")


def test_a_provider_that_is_down_is_asked_once_a_minute(
    root_client: hvac.Client, dev_server: ServerProcess
) -> None:
    """While discovery fails, `auth_url` answers 502 naming the URL at once from the failure
    remembered, rather than fetching (up to 10 s) again for every unauthenticated caller."""
    discovery = "/.well-known/openid-configuration"
    with JsonServer() as issuer:
        issuer.documents[discovery] = {
            "issuer": issuer.url,
            "authorization_endpoint": issuer.url + "/auth",
            "token_endpoint": issuer.url + "/token",
            "jwks_uri": issuer.url + "/jwks",
        }
        issuer.documents["/jwks"] = jwt_tokens.jwks(jwt_tokens.rsa_key())
        enable(root_client, "oidc-down", issuer.url)
        try:
            issuer.statuses[discovery] = 503
            fetched = issuer.hits[discovery]
            for _ in range(10):
                response = dev_server.request(
                    "POST", "auth/oidc-down/oidc/auth_url", json={"redirect_uri": REDIRECT}
                )
                assert response.status_code == 502
                assert f"GET {issuer.url}{discovery} answered 503" in response.text
            assert issuer.hits[discovery] == fetched + 1
        finally:
            root_client.sys.disable_auth_method("oidc-down")
