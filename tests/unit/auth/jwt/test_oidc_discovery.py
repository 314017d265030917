"""The OIDC flow's discovery fetch, against a loopback issuer that counts the fetches: while
the provider is down, unauthenticated `oidc/auth_url` and `oidc/callback` calls cannot make us
fetch at will (a failure is remembered for a minute) nor tie up a thread each waiting on it
(one request fetches at a time; the others get a 502 at once, naming the URL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.support.json_server import JsonServer
from tests.support.system_view import FakeSystemView

from awsbroker.auth.jwt.backend import JwtBackend
from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import REFETCH_INTERVAL
from awsbroker.auth.jwt.oidc_client import Endpoints
from awsbroker.auth.jwt.store import StoredConfig
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.errors import UpstreamError
from awsbroker.sdk.framework import BackendConfig

DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def issuer() -> Iterator[JsonServer]:
    with JsonServer() as s:
        s.documents[DISCOVERY] = {
            "issuer": s.url,
            "authorization_endpoint": s.url + "/auth",
            "token_endpoint": s.url + "/token",
        }
        yield s


def mount(issuer: JsonServer) -> tuple[JwtBackend, StoredConfig, ManualClock]:
    clock = ManualClock(1000.0)
    b = JwtBackend(BackendConfig(InmemStorage(), FakeSystemView(clock), "auth/oidc/"))
    b.store.put_config(JwtConfig(oidc_discovery_url=issuer.url), "", "client", "secret")
    stored = b.store.config()
    assert stored is not None
    return b, stored, clock


def test_a_failed_discovery_is_remembered_for_a_minute(issuer: JsonServer) -> None:
    b, stored, clock = mount(issuer)
    issuer.statuses[DISCOVERY] = 500
    for _ in range(50):
        with pytest.raises(UpstreamError) as caught:
            b.oidc_endpoints(stored)
        clock.advance(1)
    assert issuer.hits[DISCOVERY] == 1
    assert f"GET {issuer.url}{DISCOVERY} answered 500" in str(caught.value)
    assert "next attempt in 11s" in str(caught.value)

    clock.advance(REFETCH_INTERVAL - 50)
    del issuer.statuses[DISCOVERY]
    assert b.oidc_endpoints(stored).token_endpoint == issuer.url + "/token"
    assert b.oidc_endpoints(stored).token_endpoint == issuer.url + "/token"
    assert issuer.hits[DISCOVERY] == 2


def test_a_new_config_is_fetched_at_once_even_after_a_failure(issuer: JsonServer) -> None:
    b, stored, _ = mount(issuer)
    issuer.statuses[DISCOVERY] = 500
    with pytest.raises(UpstreamError):
        b.oidc_endpoints(stored)
    del issuer.statuses[DISCOVERY]
    b.store.put_config(JwtConfig(oidc_discovery_url=issuer.url), "", "client", "secret")
    written = b.store.config()
    assert written is not None
    assert b.oidc_endpoints(written).issuer == issuer.url
    assert issuer.hits[DISCOVERY] == 2


def test_one_request_fetches_at_a_time_and_the_others_are_answered_at_once(
    issuer: JsonServer,
) -> None:
    b, stored, _ = mount(issuer)
    release = threading.Event()
    issuer.holds[DISCOVERY] = release
    found: list[Endpoints] = []
    first = threading.Thread(target=lambda: found.append(b.oidc_endpoints(stored)))
    first.start()
    try:
        for _ in range(100):
            if issuer.hits[DISCOVERY]:
                break
            threading.Event().wait(0.02)
        for _ in range(20):
            with pytest.raises(UpstreamError, match=f"{issuer.url}{DISCOVERY} is being fetched"):
                b.oidc_endpoints(stored)
        assert issuer.hits[DISCOVERY] == 1
    finally:
        release.set()
        first.join()
    assert found[0].authorization_endpoint == issuer.url + "/auth"
    assert b.oidc_endpoints(stored) == found[0]
    assert issuer.hits[DISCOVERY] == 1
