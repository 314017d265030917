"""The OIDC flow's requests in flight, kept in a mount's storage: used once, and swept by the
mount's periodic job once their ten minutes are over."""

from __future__ import annotations

from tests.support.system_view import FakeSystemView

from awsbroker.auth.jwt.backend import JwtBackend
from awsbroker.auth.jwt.path_oidc import STATE_TTL, allowed_redirect
from awsbroker.physical.inmem import InmemStorage
from awsbroker.sdk.clock import ManualClock
from awsbroker.sdk.framework import BackendConfig


def backend(clock: ManualClock) -> JwtBackend:
    return JwtBackend(BackendConfig(InmemStorage(), FakeSystemView(clock), "auth/oidc/"))


def test_a_state_is_taken_once() -> None:
    b = backend(ManualClock(1000.0))
    b.store.put_state("s", {"role": "r", "expires": 1600.0})
    assert b.store.take_state("s") == {"role": "r", "expires": 1600.0}
    assert b.store.take_state("s") is None


def test_expired_states_are_swept_by_the_periodic_job() -> None:
    clock = ManualClock(1000.0)
    b = backend(clock)
    b.store.put_state("old", {"expires": 1000.0 + STATE_TTL})
    clock.advance(STATE_TTL / 2)
    b.store.put_state("new", {"expires": clock.now() + STATE_TTL})
    clock.advance(STATE_TTL / 2 + 1)
    b.periodic()
    assert b.store.take_state("old") is None
    assert b.store.take_state("new") is not None


def test_redirect_uris() -> None:
    allowed = ("http://localhost:8250/oidc/callback", "https://broker.example.com/ui/callback")
    assert allowed_redirect("http://localhost:8250/oidc/callback", allowed)
    assert allowed_redirect("http://localhost:31337/oidc/callback", allowed)
    assert allowed_redirect("https://broker.example.com/ui/callback", allowed)
    for refused in (
        "https://broker.example.com:8443/ui/callback",
        "http://localhost:8250/other",
        "https://evil.example/oidc/callback",
        "http://localhost.evil.example:8250/oidc/callback",
    ):
        assert not allowed_redirect(refused, allowed), refused
