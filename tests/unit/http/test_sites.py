"""Which sites may talk to the server: `Host` (421 for a name the listener does not answer
to), `Origin` (403 unless the server's own or allowed), and CORS for the allowed ones."""

from __future__ import annotations

import warnings
from collections.abc import Collection

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from awsbroker.http.app import build_app
from awsbroker.http.sites import ALLOWED_HEADERS, SitePolicy, host_name, parse_origin
from awsbroker.sdk.logical import Request, Response

LOOPBACK = ("localhost", "127.0.0.1", "::1")


class Handler:
    def __init__(self) -> None:
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response | None:
        self.requests.append(request)
        return Response(data={"ok": True})


def client(
    handler: Handler,
    hosts: Collection[str] | None = LOOPBACK,
    origins: Collection[str] = (),
    base_url: str = "http://127.0.0.1:8200",
) -> TestClient:
    app = build_app(handler, sites=SitePolicy(hosts, origins))
    return TestClient(app, base_url=base_url, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8200", "localhost", "LOCALHOST.:1", "[::1]:8200", "[0:0::1]", "127.0.0.1"]
)
def test_loopback_names_with_any_port_are_answered(host: str) -> None:
    handler = Handler()
    assert client(handler).get("/v1/sys/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:8200", "evil.example", "127.0.0.2", "[::2]:1"])
def test_other_hosts_are_421_before_anything_else(host: str) -> None:
    handler = Handler()
    resp = client(handler).post("/v1/sys/init", content=b"{}", headers={"Host": host})
    assert resp.status_code == 421
    name = host_name(host)
    assert resp.json() == {
        "errors": [
            f"this server does not answer to host {name!r}: add it to the listener's allowed_hosts"
        ]
    }
    assert handler.requests == []


def test_any_host_when_the_listener_answers_to_any() -> None:
    handler = Handler()
    resp = client(handler, hosts=None).get("/v1/x", headers={"Host": "anything.example:1"})
    assert resp.status_code == 200


def test_without_origin_nothing_changes() -> None:
    """CLIs, SDKs and hvac send no Origin."""
    handler = Handler()
    resp = client(handler).post(
        "/v1/x", content=b'{"a": 1}', headers={"Content-Type": "text/plain"}
    )
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("http://127.0.0.1:8200", "http://127.0.0.1:8200"),
        ("http://localhost:8200", "HTTP://LocalHost:8200"),
        ("http://[::1]:8200", "http://[::1]:8200"),
        ("https://localhost", "https://localhost:443"),
        ("http://localhost:80", "http://localhost"),
    ],
)
def test_the_servers_own_origin_is_answered(base_url: str, origin: str) -> None:
    """A web console served by the server itself: scheme, host and port of the request."""
    handler = Handler()
    resp = client(handler, base_url=base_url).post(
        "/v1/x", content=b"{}", headers={"Origin": origin}
    )
    assert resp.status_code == 200, resp.text
    assert "access-control-allow-origin" not in resp.headers


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1:8201",  # another port: another origin
        "https://127.0.0.1:8200",  # another scheme
        "http://localhost:8200",  # another host name
        "null",
        "",
        "http://127.0.0.1:8200/path",
        "http://127.0.0.1:99999",
    ],
)
def test_foreign_origins_are_403_before_the_body_is_read(origin: str) -> None:
    """A text/plain POST needs no CORS preflight: without this a page could init the server."""
    handler = Handler()
    resp = client(handler).post(
        "/v1/sys/init",
        content=b'{"secret_shares": 1, "secret_threshold": 1}',
        headers={"Origin": origin, "Content-Type": "text/plain"},
    )
    assert resp.status_code == 403
    assert resp.json() == {
        "errors": [
            f"origin not allowed: {origin!r} is neither this server's own origin nor in the "
            "listener's allowed_origins"
        ]
    }
    assert handler.requests == []


def test_allowed_origins_are_answered_with_cors_headers() -> None:
    handler = Handler()
    web = client(handler, origins=["https://console.example.com:443", "http://localhost:3000"])
    for origin in ("https://console.example.com", "http://localhost:3000"):
        resp = web.get("/v1/x", headers={"Origin": origin})
        assert resp.status_code == 200
        assert resp.headers["access-control-allow-origin"] == origin
        assert resp.headers["vary"] == "Origin"
    refused = web.get("/v1/x", headers={"Origin": "http://localhost:3001"})
    assert refused.status_code == 403
    assert refused.headers.get("access-control-allow-origin") is None


def test_an_allowed_origins_preflight_is_answered_as_vault_does() -> None:
    handler = Handler()
    web = client(handler, origins=["https://console.example.com"])
    resp = web.options(
        "/v1/auth/token/create",
        headers={
            "Origin": "https://console.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-vault-token",
        },
    )
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "https://console.example.com"
    assert (
        resp.headers["access-control-allow-methods"]
        == "DELETE, GET, HEAD, LIST, OPTIONS, POST, PUT"
    )
    assert "X-Vault-Token" in resp.headers["access-control-allow-headers"].split(", ")
    assert resp.headers["access-control-allow-headers"] == ALLOWED_HEADERS
    assert resp.headers["access-control-max-age"] == "300"
    assert handler.requests == []
    # Not a preflight (no method asked for), or from elsewhere: as before.
    plain = web.options("/v1/x", headers={"Origin": "https://console.example.com"})
    assert plain.status_code == 405
    foreign = web.options(
        "/v1/x", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert foreign.status_code == 403


def test_a_wildcard_allows_every_origin() -> None:
    handler = Handler()
    resp = client(handler, origins=["*"]).get("/v1/x", headers={"Origin": "https://any.example"})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "https://any.example"


def test_origins_are_compared_with_explicit_ports() -> None:
    assert parse_origin("HTTPS://Example.COM") == ("https", "example.com", 443)
    assert parse_origin("http://[::1]") == ("http", "::1", 80)
    assert parse_origin("http://x:8200/") == ("http", "x", 8200)
    for bad in ("null", "ftp://x", "http://", "http://x/a", "http://x:port"):
        assert parse_origin(bad) is None
