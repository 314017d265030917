"""A service-account JWT's claims read without checking its signature, and Vault's globs.

The claims are only trusted after the TokenReview API has said the token is genuine; before
that they serve to refuse early (a service account the role does not allow) as Vault does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from awsbroker.sdk.glob import glob_match


@dataclass(frozen=True)
class Claims:
    namespace: str = ""
    name: str = ""
    uid: str = ""
    secret_name: str = ""
    issuer: str = ""
    audiences: list[str] = field(default_factory=list)


def unverified_claims(jwt: str) -> Claims | None:
    """The service-account claims of `jwt` (legacy secret tokens and projected tokens alike),
    or None when it is not a JWT."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict):
        return None
    aud = payload.get("aud")
    audiences = [aud] if isinstance(aud, str) else [str(a) for a in aud or [] if a]
    projected = payload.get("kubernetes.io")
    if isinstance(projected, dict):
        account = _dict(projected.get("serviceaccount"))
        return Claims(
            namespace=str(projected.get("namespace") or ""),
            name=str(account.get("name") or ""),
            uid=str(account.get("uid") or ""),
            issuer=str(payload.get("iss") or ""),
            audiences=audiences,
        )
    prefix = "kubernetes.io/serviceaccount/"
    return Claims(
        namespace=str(payload.get(prefix + "namespace") or ""),
        name=str(payload.get(prefix + "service-account.name") or ""),
        uid=str(payload.get(prefix + "service-account.uid") or ""),
        secret_name=str(payload.get(prefix + "secret.name") or ""),
        issuer=str(payload.get("iss") or ""),
        audiences=audiences,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def allowed(patterns: list[str], value: str) -> bool:
    return bool(value) and any(glob_match(p, value) for p in patterns)
