"""The write-time checks of a JWT mount's config and roles: a 400 naming what to fix."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import jwt_tokens as tokens

from awsbroker.auth.jwt.config import JwtConfig
from awsbroker.auth.jwt.jwks import KeySetSource
from awsbroker.auth.jwt.role import JwtRole
from awsbroker.sdk.errors import InvalidRequest

PEM = tokens.rsa_key().public_pem()


def test_a_config_names_exactly_one_key_source() -> None:
    JwtConfig(jwt_validation_pubkeys=(PEM,)).validate()
    JwtConfig(jwks_url="https://issuer.example/jwks").validate()
    JwtConfig(oidc_discovery_url="https://issuer.example").validate()
    for bad in (
        JwtConfig(),
        JwtConfig(jwks_url="https://a.example/jwks", oidc_discovery_url="https://a.example"),
        JwtConfig(jwks_url="https://a.example/jwks", jwt_validation_pubkeys=(PEM,)),
    ):
        with pytest.raises(InvalidRequest, match="exactly one of 'jwt_validation_pubkeys'"):
            bad.validate()


def test_the_key_source_of_each_kind() -> None:
    assert JwtConfig(jwt_validation_pubkeys=(PEM,)).key_source() is None
    assert JwtConfig(jwks_url="https://a.example/k", jwks_ca_pem="CA").key_source() == (
        KeySetSource("https://a.example/k", "CA", discovery=False)
    )
    assert JwtConfig(oidc_discovery_url="https://a.example").key_source() == (
        KeySetSource("https://a.example", "", discovery=True)
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"jwks_url": "file:///etc/passwd"}, "jwks_url must be an http(s) URL"),
        ({"oidc_discovery_url": "issuer.example"}, "oidc_discovery_url must be an http(s) URL"),
        (
            {"jwks_url": "https://a.example/k", "jwks_ca_pem": "not a pem"},
            "jwks_ca_pem holds no valid PEM certificate",
        ),
        (
            {"oidc_discovery_url": "https://a.example", "oidc_discovery_ca_pem": PEM},
            "oidc_discovery_ca_pem holds no valid PEM certificate",
        ),
        ({"jwt_validation_pubkeys": ("junk",)}, "jwt_validation_pubkeys[0] is not a PEM"),
        (
            {"jwt_validation_pubkeys": (PEM,), "jwt_supported_algs": ("RS256", "HS256")},
            "invalid jwt_supported_algs: HS256",
        ),
        (
            {"jwt_validation_pubkeys": (PEM,), "jwt_supported_algs": ("none",)},
            "invalid jwt_supported_algs: none",
        ),
    ],
)
def test_config_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        JwtConfig(**fields).validate()
    assert message in str(caught.value)


def test_supported_algs_default_to_rs256() -> None:
    assert JwtConfig(jwt_validation_pubkeys=(PEM,)).supported_algs() == ("RS256",)
    assert JwtConfig(jwt_supported_algs=("ES256", " EdDSA")).supported_algs() == ("ES256", "EdDSA")


def role(**changes: Any) -> JwtRole:
    fields: dict[str, Any] = {
        "name": "r",
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": ("a",),
        **changes,
    }
    return JwtRole(**fields)


def test_a_valid_jwt_role() -> None:
    role(
        bound_claims={"ref": ["refs/heads/*"]},
        bound_claims_type="glob",
        claim_mappings={"repository": "repository", "/ctx/env": "env"},
    ).validate()
    # A bound CIDR (a common token field) is a bound constraint too.
    role(bound_audiences=()).validate(token_bound_cidrs=["10.0.0.0/8"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role_type": "saml"}, "invalid 'role_type': saml"),
        ({"bound_claims_type": "regex"}, "invalid 'bound_claims_type': regex"),
        ({"bound_claims_type": "glob", "bound_claims": {"run": 7}}, "7 is not a string"),
        ({"bound_claims": {"x": {"y": 1}}}, "is not a string, number or bool"),
        ({"claim_mappings": {"r": "role"}}, "metadata key 'role' is reserved"),
        ({"claim_mappings": {"a": "m", "b": "m"}}, "multiple keys are mapped to metadata key 'm'"),
        ({"user_claim": ""}, "a user claim must be defined on the role"),
        ({"role_type": "oidc"}, "'allowed_redirect_uris' must be set"),
        ({"bound_audiences": ()}, "must have at least one bound constraint"),
    ],
)
def test_role_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        role(**changes).validate()
    assert message in str(caught.value)


def test_leeways_zero_is_the_default_and_negative_is_none() -> None:
    assert role().leeways() == (60, 150, 150)
    assert role(clock_skew_leeway=0, expiration_leeway=0, not_before_leeway=0).leeways() == (
        60,
        150,
        150,
    )
    assert role(clock_skew_leeway=-1, expiration_leeway=-1, not_before_leeway=5).leeways() == (
        0,
        0,
        5,
    )
