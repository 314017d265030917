"""Verification keys from PEMs and from JWKS documents: what is kept and what is skipped."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from tests.support import jwt_tokens as tokens

from awsbroker.auth.jwt.keys import StaticKeys, VerificationKey, parse_jwks, parse_pem_keys
from awsbroker.sdk.errors import InvalidRequest

RSA = tokens.rsa_key(kid="r1")
EC = tokens.ec_key(kid="e1", alg="ES384")
ED = tokens.ed25519_key(kid="d1")


def test_pem_public_keys_and_certificates() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(EC.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(EC.private, hashes.SHA384())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    keys = parse_pem_keys([RSA.public_pem(), cert_pem, ED.public_pem()])
    assert [type(k.key).__name__ for k in keys] == [
        type(RSA.private.public_key()).__name__,
        type(EC.private.public_key()).__name__,
        type(ED.private.public_key()).__name__,
    ]
    assert all(k.kid is None for k in keys)
    # PEMs have no key IDs: every one is a candidate for any token.
    assert StaticKeys(keys).keys_for("anything") == keys


def test_a_pem_of_an_unsupported_key_type_is_refused() -> None:
    dsa_pem = (
        dsa.generate_private_key(2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(InvalidRequest, match=r"jwt_validation_pubkeys\[1\] is a DSAPublicKey"):
        parse_pem_keys([RSA.public_pem(), dsa_pem])


def test_jwks_keys_keep_kid_and_alg() -> None:
    keys = parse_jwks(tokens.jwks(RSA, EC, ED), "https://issuer.example/jwks")
    assert [(k.kid, k.alg) for k in keys] == [("r1", "RS256"), ("e1", "ES384"), ("d1", "EdDSA")]


def test_jwks_skips_symmetric_encryption_private_and_broken_keys() -> None:
    holder = tokens.rsa_key(kid="p1")
    private_jwk = {**json.loads(RSAAlgorithm.to_jwk(holder.private)), "kid": "p1"}
    assert "d" in private_jwk
    document = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {**RSA.jwk(), "use": "enc", "kid": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            {"kty": "EC", "kid": "no-curve"},
            "not an object",
            private_jwk,
        ]
    }
    keys = parse_jwks(document, "https://issuer.example/jwks")
    assert [k.kid for k in keys] == ["p1"]
    # A provider that published its private key does not make us hold it.
    assert isinstance(keys[0], VerificationKey)
    assert isinstance(keys[0].key, rsa.RSAPublicKey)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'not a JWKS document \\(no "keys" list\\)'),
        ({"keys": "x"}, "not a JWKS document"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "no usable signature-verification key"),
    ],
)
def test_jwks_errors_name_the_source(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_jwks(document, "https://issuer.example/jwks")
    assert "https://issuer.example/jwks" in str(caught.value)
