"""Which algorithms a mount may accept, and which key types fit which algorithm."""

from __future__ import annotations

import pytest
from tests.support import jwt_tokens as tokens

from awsbroker.auth.jwt.algorithms import SUPPORTED, key_fits, parse_supported
from awsbroker.sdk.errors import InvalidRequest

RSA = tokens.rsa_key().private.public_key()
P256 = tokens.ec_key(alg="ES256").private.public_key()
P384 = tokens.ec_key(alg="ES384").private.public_key()
ED = tokens.ed25519_key().private.public_key()


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "none", "ES256K", "RSA-OAEP"])
def test_symmetric_none_and_unknown_algorithms_cannot_be_configured(alg: str) -> None:
    with pytest.raises(InvalidRequest, match=f"invalid jwt_supported_algs: {alg}"):
        parse_supported(["RS256", alg])


def test_vaults_list_is_accepted_and_empty_means_rs256() -> None:
    assert parse_supported(SUPPORTED) == SUPPORTED
    assert parse_supported([]) == ("RS256",)
    assert parse_supported(["", " "]) == ("RS256",)


@pytest.mark.parametrize(
    ("alg", "fits"),
    [
        ("RS256", [RSA]),
        ("PS512", [RSA]),
        ("ES256", [P256]),
        ("ES384", [P384]),
        ("EdDSA", [ED]),
        ("HS256", []),
        ("none", []),
    ],
)
def test_key_fits(alg: str, fits: list[object]) -> None:
    for key in (RSA, P256, P384, ED):
        assert key_fits(alg, key) is (key in fits), (alg, type(key).__name__)
