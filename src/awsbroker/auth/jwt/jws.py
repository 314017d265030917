"""A compact JWS: its header read before any key is chosen, and its signature checked with the
JOSE library (PyJWT; docs/dependencies.md says why). The library is used here only, and only
ever with one algorithm the caller chose and a public key object that fits it.

Errors are `TokenInvalid` with a message for the caller; `verify.py` prefixes them as Vault
does ("error validating token: ...")."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidKeyError, InvalidSignatureError, PyJWTError

from awsbroker.auth.jwt.algorithms import PublicKey
from awsbroker.sdk.logical import JSONObject

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_FROM_JWK = {
    "RSA": RSAAlgorithm.from_jwk,
    "EC": ECAlgorithm.from_jwk,
    "OKP": OKPAlgorithm.from_jwk,
}


class TokenInvalid(Exception):
    """The token is not one we accept; the message says why, naming no secret."""


@dataclass(frozen=True)
class Header:
    alg: str
    kid: str | None


def read_header(token: str) -> Header:
    """The protected header of a compact JWS, checked for what we never accept: another
    serialization (a JWE has five parts), no `alg`, critical extensions."""
    parts = token.split(".")
    if len(parts) == 5:
        raise TokenInvalid("encrypted tokens (JWE) are not supported")
    if len(parts) != 3:
        raise TokenInvalid("the token is not a JWT (expected three dot-separated parts)")
    header = _json_object(parts[0], "header")
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or not alg:
        raise TokenInvalid("the token's header has no algorithm (alg)")
    if kid is not None and not isinstance(kid, str):
        raise TokenInvalid("the token's key ID (kid) is not a string")
    if "crit" in header:
        raise TokenInvalid("the token's header has critical extensions (crit), none supported")
    return Header(alg=alg, kid=kid)


def verify_signature(token: str, alg: str, key: PublicKey) -> JSONObject | None:
    """The token's claims if `key` made its signature with `alg`, else None. A key below the
    minimum size for its algorithm (RSA under 2048 bits) verifies nothing."""
    try:
        decoded = PyJWS().decode_complete(
            token,
            key=key,
            algorithms=[alg],
            options={"verify_signature": True, "enforce_minimum_key_length": True},
        )
    except (InvalidSignatureError, InvalidKeyError):
        return None
    except PyJWTError as exc:
        raise TokenInvalid(f"malformed token: {exc}") from None
    payload: bytes = decoded["payload"]
    return _json_object(payload, "claims")


def public_key_from_jwk(jwk: dict[str, object]) -> object:
    """The key of an RSA, EC or OKP JWK (a cryptography key object), or None when it is not
    one or does not parse."""
    parse = _FROM_JWK.get(str(jwk.get("kty")))
    if parse is None:
        return None
    try:
        return parse(jwk)
    except (PyJWTError, ValueError, KeyError, TypeError):
        return None


def _json_object(segment: str | bytes, what: str) -> JSONObject:
    try:
        raw = _b64decode(segment) if isinstance(segment, str) else segment
        value = json.loads(raw, object_pairs_hook=_no_duplicates)
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid(f"the token's {what} is not base64url-encoded JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TokenInvalid(f"the token's {what} is not a JSON object")
    return value


def _b64decode(segment: str) -> bytes:
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("characters outside base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result
