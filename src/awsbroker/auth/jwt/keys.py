"""Verification keys: from the PEMs of `jwt_validation_pubkeys`, or from a JWKS document.

A `KeyLookup` answers "which keys may have signed a token with this `kid`"; `StaticKeys` does
it for PEMs (which have no key IDs, so every key is a candidate, as in Vault), `jwks.RemoteKeySet`
for a fetched key set. Symmetric (`oct`) JWKs and encryption keys are never verification keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from awsbroker.auth.jwt.algorithms import PublicKey
from awsbroker.auth.jwt.jws import public_key_from_jwk
from awsbroker.sdk.errors import InvalidRequest

_KEY_TYPES = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)


@dataclass(frozen=True)
class VerificationKey:
    """A public key, with the `kid` and `alg` its JWK named (None for a PEM, or when unnamed)."""

    key: PublicKey
    kid: str | None = None
    alg: str | None = None


class KeyLookup(Protocol):
    def keys_for(self, kid: str | None) -> Sequence[VerificationKey]:
        """The keys that may have signed a token whose header names `kid` (None: no `kid`)."""
        ...


@dataclass(frozen=True)
class StaticKeys:
    """The keys of `jwt_validation_pubkeys`: all of them are candidates for any token."""

    keys: tuple[VerificationKey, ...]

    def keys_for(self, kid: str | None) -> Sequence[VerificationKey]:
        return self.keys


def parse_pem_keys(pems: Iterable[str]) -> tuple[VerificationKey, ...]:
    """The public keys (or certificates' public keys) in `pems`; a 400 naming the first that
    is not an RSA, EC or Ed25519/Ed448 public key in PEM form."""
    keys = []
    for index, pem in enumerate(pems):
        data = pem.strip().encode()
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                loaded: object = x509.load_pem_x509_certificate(data).public_key()
            else:
                loaded = load_pem_public_key(data)
        except ValueError:
            raise InvalidRequest(
                f"error parsing public key: jwt_validation_pubkeys[{index}] is not a PEM public"
                " key or certificate"
            ) from None
        if not isinstance(loaded, _KEY_TYPES):
            raise InvalidRequest(
                f"error parsing public key: jwt_validation_pubkeys[{index}] is a"
                f" {type(loaded).__name__}; RSA, EC, Ed25519 and Ed448 keys are supported"
            )
        keys.append(VerificationKey(key=loaded))
    return tuple(keys)


def parse_jwks(document: object, source: str) -> tuple[VerificationKey, ...]:
    """The signature-verification keys of a JWKS document fetched from `source` (named in
    errors). Keys of other types or uses are skipped; a set with none left is an error."""
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise ValueError(f'the key set at {source} is not a JWKS document (no "keys" list)')
    keys = [key for raw in raw_keys if (key := _jwk(raw)) is not None]
    if not keys:
        raise ValueError(f"the key set at {source} has no usable signature-verification key")
    return tuple(keys)


def _jwk(raw: object) -> VerificationKey | None:
    if not isinstance(raw, dict) or raw.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    if raw.get("use", "sig") != "sig":
        return None
    kid, alg = raw.get("kid"), raw.get("alg")
    # Only public members: a provider that published a private key must not make us hold one.
    public = {k: v for k, v in raw.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth")}
    loaded = public_key_from_jwk(public)
    if not isinstance(loaded, _KEY_TYPES):
        return None
    return VerificationKey(
        key=loaded,
        kid=kid if isinstance(kid, str) else None,
        alg=alg if isinstance(alg, str) else None,
    )
