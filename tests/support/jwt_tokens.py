"""Hand-signed JWTs for the JWT auth method's tests: keys made here with `cryptography`,
tokens signed with PyJWT, and the forgeries a verifier must refuse (`alg: none`, HS256 keyed
with the public key), built byte by byte because no library will make them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class SigningKey:
    private: PrivateKey
    kid: str
    alg: str

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwk(self) -> dict[str, Any]:
        """The public JWK, with `kid`, `alg` and `use`."""
        algorithm = jwt.get_algorithm_by_name(self.alg)
        public: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def rsa_key(kid: str = "rsa-1", alg: str = "RS256", bits: int = 2048) -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=bits), kid, alg)


def ec_key(kid: str = "ec-1", alg: str = "ES256") -> SigningKey:
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    return SigningKey(ec.generate_private_key(curve), kid, alg)


def ed25519_key(kid: str = "ed-1") -> SigningKey:
    return SigningKey(ed25519.Ed25519PrivateKey.generate(), kid, "EdDSA")


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk() for k in keys]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def unsigned(claims: dict[str, Any], kid: str | None = None) -> str:
    """`alg: none`, an empty signature."""
    header: dict[str, Any] = {"alg": "none", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    return _segments(header, claims) + "."


def hs256_keyed_with(secret: bytes, claims: dict[str, Any], kid: str | None = None) -> str:
    """HS256 with `secret` as the HMAC key: given a public key's PEM, the classic algorithm-
    confusion forgery."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = _segments(header, claims)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def rs256_raw(key: SigningKey, header: dict[str, Any], payload: bytes) -> str:
    """RS256 over any header and payload bytes (a payload that is not a claims object, or has
    a member twice): validly signed, so only the verifier's parsing can refuse it."""
    if not isinstance(key.private, rsa.RSAPrivateKey):
        raise TypeError("rs256_raw needs an RSA key")
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(payload)
    signature = key.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


def with_header(token: str, **changes: Any) -> str:
    """`token` with its header changed and its signature kept (so no longer valid for it)."""
    header_b64, payload_b64, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    header.update(changes)
    return _b64(json.dumps(header).encode()) + "." + payload_b64 + "." + signature
