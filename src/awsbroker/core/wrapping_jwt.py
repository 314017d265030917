"""Wrapping tokens as signed JWTs (`X-Vault-Wrap-Format: jwt`), as Vault makes them.

The JWT carries the wrapping token as its `jti`, signed ES512 with one P-521 key per server,
kept behind the barrier at `core/wrapping/jwtkey`: made once by the first node that needs it
(compare-and-set, so every node signs with the same key) and never changed, so a node keeps it
in memory once read. Presenting the JWT is presenting the token inside it, once verified.
"""

from __future__ import annotations

import threading

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.storage import Storage

KEY_PATH = "core/wrapping/jwtkey"
ALGORITHM = "ES512"


def looks_like_jwt(token: str) -> bool:
    """Vault's test: two dots, and not a token of ours (those have one at most)."""
    return token.count(".") == 2 and token.startswith("eyJ")


class WrappingKey:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._lock = threading.Lock()

    def _private(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._key is None:
                made = ec.generate_private_key(ec.SECP521R1()).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                self._storage.compare_and_set(KEY_PATH, None, made)  # the first node's wins
                stored = self._storage.get(KEY_PATH)
                if stored is None:
                    raise RuntimeError("the wrapping key vanished from storage")
                key = serialization.load_pem_private_key(stored, password=None)
                assert isinstance(key, ec.EllipticCurvePrivateKey)
                self._key = key
            return self._key

    def sign(self, token: str, now: float, ttl: int, accessor: str, addr: str) -> str:
        claims = {
            "jti": token,
            "iat": int(now),
            "exp": int(now) + ttl,
            "nbf": int(now) - 5,
            "type": "wrapping",
            "addr": addr,
            "accessor": accessor,
        }
        return jwt.encode(claims, self._private(), algorithm=ALGORITHM, headers={"typ": "JWT"})

    def token_of(self, signed: str) -> str:
        """The wrapping token inside a JWT this server signed; Vault's 403 otherwise."""
        try:
            claims = jwt.decode(
                signed,
                self._private().public_key(),
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise PermissionDenied(
                f"error validating wrapping token: wrapping token signature could not be "
                f"validated: {exc}"
            ) from None
        if claims.get("type") != "wrapping":
            raise PermissionDenied("error validating wrapping token: unexpected type claim")
        token = claims.get("jti")
        if not isinstance(token, str) or not token:
            raise PermissionDenied("error validating wrapping token: token is empty")
        return token
