"""Verification against a real OpenID provider (npm `oidc-provider` on loopback): its
discovery document and JWKS, and tokens it signed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.oidc_provider import OidcProvider

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import KeySetCache
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.auth.jwt.verify import LoginIdentity, verify_login
from awsbroker.sdk.clock import SystemClock
from awsbroker.sdk.errors import InvalidRequest

AUDIENCE = "https://broker.example"
GITHUB_SUB = "repo:acme/app:ref:refs/heads/main"
CLAIMS = {"repository": "acme/app", "ref": "refs/heads/main", "ctx": {"env": "prod"}}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider(clients=("ci-deploy", "other", GITHUB_SUB)) as p:
        yield p


def role(**changes: Any) -> JwtRole:
    fields: dict[str, Any] = {
        "name": "deploy",
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": (AUDIENCE,),
        "bound_claims_type": "glob",
        "bound_claims": {"repository": "acme/*", "ref": "refs/heads/main"},
        "claim_mappings": {"repository": "repository", "/ctx/env": "environment"},
        **changes,
    }
    return JwtRole(**fields)


def login(provider: OidcProvider, config: JwtConfig, token: str, rl: JwtRole) -> LoginIdentity:
    clock = SystemClock()
    keys = config.key_lookup(KeySetCache(clock))
    return verify_login(token, config, rl, keys, clock.now())


def discovery_config(provider: OidcProvider) -> JwtConfig:
    return JwtConfig(oidc_discovery_url=provider.issuer, bound_issuer=provider.issuer)


def test_a_token_from_the_provider_logs_in_through_discovery(provider: OidcProvider) -> None:
    token = provider.token(AUDIENCE, client="ci-deploy", claims=CLAIMS)
    identity = login(provider, discovery_config(provider), token, role())
    assert identity == LoginIdentity(
        alias_name="ci-deploy",
        metadata={"repository": "acme/app", "environment": "prod", "role": "deploy"},
        groups=(),
    )


def test_and_through_its_jwks_url(provider: OidcProvider) -> None:
    config = JwtConfig(jwks_url=provider.discovery()["jwks_uri"], bound_issuer=provider.issuer)
    token = provider.token(AUDIENCE, claims=CLAIMS)
    assert login(provider, config, token, role()).alias_name == "ci-deploy"


def test_a_token_for_another_audience_is_refused(provider: OidcProvider) -> None:
    token = provider.token("https://elsewhere.example", claims=CLAIMS)
    with pytest.raises(InvalidRequest, match="aud claim does not match any expected audience"):
        login(provider, discovery_config(provider), token, role())


def test_a_claim_outside_the_glob_is_refused(provider: OidcProvider) -> None:
    token = provider.token(AUDIENCE, claims={**CLAIMS, "repository": "evil/app"})
    with pytest.raises(InvalidRequest, match="claim 'repository' does not match"):
        login(provider, discovery_config(provider), token, role())


def test_a_subject_bound_to_another_client_is_refused(provider: OidcProvider) -> None:
    token = provider.token(AUDIENCE, client="other", claims=CLAIMS)
    with pytest.raises(InvalidRequest, match="invalid subject"):
        login(provider, discovery_config(provider), token, role(bound_subject="ci-deploy"))


def test_another_issuer_is_refused(provider: OidcProvider) -> None:
    config = JwtConfig(oidc_discovery_url=provider.issuer, bound_issuer="https://other.example")
    token = provider.token(AUDIENCE, claims=CLAIMS)
    with pytest.raises(InvalidRequest, match="invalid issuer"):
        login(provider, config, token, role())


def test_a_github_shaped_subject_matches_a_glob(provider: OidcProvider) -> None:
    rl = role(bound_claims={"sub": "repo:acme/*:ref:refs/heads/main"})
    token = provider.token(AUDIENCE, client=GITHUB_SUB, claims=CLAIMS)
    assert login(provider, discovery_config(provider), token, rl).alias_name == GITHUB_SUB
    other = provider.token(AUDIENCE, client="other", claims=CLAIMS)
    with pytest.raises(InvalidRequest, match="claim 'sub' does not match"):
        login(provider, discovery_config(provider), other, rl)
