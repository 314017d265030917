"""Which JWS algorithms a mount accepts, and which key fits which algorithm.

Only asymmetric algorithms exist here: a JWT auth mount verifies tokens that someone else
signed, with public keys, so an HMAC algorithm (whose "key" would be public) or `none` can never
be configured. A key is used with an algorithm only when its type fits that algorithm, so an
RSA key can never verify an HS256 or ES256 token (algorithm confusion) whatever a token's header
says."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from awsbroker.sdk.errors import InvalidRequest

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

# Vault's list (the plugin's `jwt_supported_algs`), in its order.
SUPPORTED = (
    "RS256",
    "RS384",
    "RS512",
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
)

# Vault documents RS256 as the default of `jwt_supported_algs` (docs/compatibility.md).
DEFAULT = ("RS256",)

_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


def parse_supported(values: Iterable[str]) -> tuple[str, ...]:
    """`jwt_supported_algs` as written by an operator: the default when empty; a 400 naming
    any value that is not one of Vault's asymmetric algorithms."""
    algs = tuple(v.strip() for v in values if v.strip())
    unknown = [a for a in algs if a not in SUPPORTED]
    if unknown:
        raise InvalidRequest(
            f"invalid jwt_supported_algs: {', '.join(unknown)} (supported: {', '.join(SUPPORTED)})"
        )
    return algs or DEFAULT


def key_fits(alg: str, key: PublicKey) -> bool:
    """Whether `key` may verify a signature made with `alg`."""
    if alg.startswith(("RS", "PS")):
        return isinstance(key, rsa.RSAPublicKey)
    if alg in _CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _CURVES[alg]
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False
