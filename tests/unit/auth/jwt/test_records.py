"""Config and role records: their reads in Vault's names, their stored form read back whole,
and the config's check of a remote key set when it is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support import jwt_tokens as tokens
from tests.support.json_server import JsonServer

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import HttpFetcher
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.sdk.errors import InvalidRequest

PEM = tokens.rsa_key().public_pem()


def test_config_read_and_record() -> None:
    config = JwtConfig(
        jwt_validation_pubkeys=(PEM,), jwt_supported_algs=("RS256", "ES256"), bound_issuer="i"
    )
    assert config.to_response() == {
        "oidc_discovery_url": "",
        "oidc_discovery_ca_pem": "",
        "jwks_url": "",
        "jwks_ca_pem": "",
        "jwt_validation_pubkeys": [PEM],
        "jwt_supported_algs": ["RS256", "ES256"],
        "bound_issuer": "i",
    }
    assert JwtConfig.from_record(config.to_record()) == config


def test_role_read_and_record() -> None:
    role = JwtRole(
        name="deploy",
        role_type="jwt",
        user_claim="sub",
        bound_audiences=("a",),
        bound_claims={"ref": ["refs/heads/*"], "run": 7, "admin": True},
        bound_claims_type="glob",
        claim_mappings={"repository": "repository"},
        groups_claim="/ctx/teams",
        clock_skew_leeway=-1,
        expiration_leeway=0,
    )
    assert role.to_response() == {
        "role_type": "jwt",
        "bound_audiences": ["a"],
        "bound_subject": "",
        "bound_claims": {"ref": ["refs/heads/*"], "run": 7, "admin": True},
        "bound_claims_type": "glob",
        "user_claim": "sub",
        "user_claim_json_pointer": False,
        "claim_mappings": {"repository": "repository"},
        "groups_claim": "/ctx/teams",
        "clock_skew_leeway": -1,
        "expiration_leeway": 0,
        "not_before_leeway": 150,
        "allowed_redirect_uris": None,
        "oidc_scopes": None,
    }
    assert JwtRole.from_record(role.to_record()) == role


def test_unset_role_collections_read_as_null() -> None:
    response = JwtRole(name="r", user_claim="sub", bound_subject="s").to_response()
    assert response["bound_audiences"] is None
    assert response["bound_claims"] is None
    assert response["claim_mappings"] is None


@pytest.fixture
def server() -> Iterator[JsonServer]:
    with JsonServer() as s:
        s.documents["/jwks"] = tokens.jwks(tokens.rsa_key())
        yield s


def test_writing_a_config_checks_its_remote_key_set(server: JsonServer) -> None:
    JwtConfig(jwks_url=server.url + "/jwks").check_source(HttpFetcher())
    JwtConfig(jwt_validation_pubkeys=(PEM,)).check_source(HttpFetcher())  # nothing to fetch
    with pytest.raises(InvalidRequest) as caught:
        JwtConfig(jwks_url=server.url + "/nope").check_source(HttpFetcher())
    assert str(caught.value) == f"error checking jwks URL: GET {server.url}/nope answered 404"
    with pytest.raises(InvalidRequest, match=r"error checking oidc discovery URL: GET .*404"):
        JwtConfig(oidc_discovery_url=server.url).check_source(HttpFetcher())
