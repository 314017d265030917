"""Wrapping tokens as signed JWTs (`X-Vault-Wrap-Format: jwt`), as Vault makes them.

The JWT carries the wrapping token as its `jti`, signed ES512 with one P-521 key per server,
kept behind the barrier at `core/wrapping/jwtkey`: made once by the first node that needs it
(compare-and-set, so every node signs with the same key) and never changed, so a node keeps it
in memory once read. Presenting the JWT is presenting the token inside it, once verified.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from awsbroker.sdk.errors import PermissionDenied
from awsbroker.sdk.storage import Storage

KEY_PATH = "core/wrapping/jwtkey"
ALGORITHM = "ES512"
_HEADER = {"alg": ALGORITHM, "typ": "JWT"}
_SIZE = 66  # bytes of each of r and s for P-521 (RFC 7518, 3.4)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
        # A compact JWS by hand (RFC 7515): PyJWT stays confined to the JWT auth method.
        signing_input = ".".join(
            _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, claims)
        )
        r, s = decode_dss_signature(
            self._private().sign(signing_input.encode(), ec.ECDSA(hashes.SHA512()))
        )
        signature = r.to_bytes(_SIZE, "big") + s.to_bytes(_SIZE, "big")
        return f"{signing_input}.{_b64(signature)}"

    def token_of(self, signed: str) -> str:
        """The wrapping token inside a JWT this server signed; Vault's 403 otherwise. Its
        expiry is the token's own: an expired one is not a live token."""
        try:
            header_part, claims_part, signature_part = signed.split(".")
            header = json.loads(_unb64(header_part))
            signature = _unb64(signature_part)
            if header.get("alg") != ALGORITHM or len(signature) != 2 * _SIZE:
                raise ValueError("not an ES512 signature")
            der = encode_dss_signature(
                int.from_bytes(signature[:_SIZE], "big"), int.from_bytes(signature[_SIZE:], "big")
            )
            self._private().public_key().verify(
                der, f"{header_part}.{claims_part}".encode(), ec.ECDSA(hashes.SHA512())
            )
            claims = json.loads(_unb64(claims_part))
        except (ValueError, binascii.Error, InvalidSignature, AttributeError) as exc:
            reason = str(exc) or "the signature does not match"
            raise PermissionDenied(
                "error validating wrapping token: wrapping token signature could not be "
                f"validated: {reason}"
            ) from None
        if not isinstance(claims, dict) or claims.get("type") != "wrapping":
            raise PermissionDenied("error validating wrapping token: unexpected type claim")
        token = claims.get("jti")
        if not isinstance(token, str) or not token:
            raise PermissionDenied("error validating wrapping token: token is empty")
        return token
