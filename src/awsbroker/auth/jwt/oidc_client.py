"""The OIDC browser flow's calls to the provider: its discovery document (where to send the
person, where to exchange the code) and the code exchange at its token endpoint, with the
client's credentials (HTTP Basic) and the PKCE verifier. httpx, with the config's CA, a
timeout and a size limit, as for key sets."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

import httpx

from awsbroker.auth.jwt.jwks import (
    MAX_DOCUMENT_BYTES,
    TIMEOUT,
    Fetcher,
    FetchError,
    shown_url,
    ssl_context,
)
from awsbroker.sdk.errors import InvalidRequest, UpstreamError


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str


def discovery_url(issuer_url: str) -> str:
    return issuer_url.rstrip("/") + "/.well-known/openid-configuration"


def endpoints(issuer_url: str, ca_pem: str, fetcher: Fetcher) -> Endpoints:
    """The provider's endpoints, from its discovery document (which must name `issuer_url`)."""
    url = discovery_url(issuer_url)
    try:
        document = fetcher.get_json(url, ca_pem)
    except FetchError as exc:
        raise UpstreamError(f"error fetching the OIDC discovery document: {exc}") from None
    if not isinstance(document, dict) or document.get("issuer") != issuer_url:
        raise UpstreamError(f"{shown_url(url)} is not the discovery document of {issuer_url}")
    found = {k: document.get(k) for k in ("authorization_endpoint", "token_endpoint")}
    if not all(isinstance(v, str) and v for v in found.values()):
        raise UpstreamError(f"{shown_url(url)} names no authorization or token endpoint")
    return Endpoints(issuer_url, str(found["authorization_endpoint"]), str(found["token_endpoint"]))


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def exchange_code(
    token_endpoint: str,
    ca_pem: str,
    client: tuple[str, str],
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> str:
    """The ID token the provider gives for `code`; a 400 when it refuses the code, a 502 when
    it cannot be reached."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        with httpx.Client(verify=ssl_context(ca_pem), timeout=TIMEOUT) as http:
            response = http.post(token_endpoint, data=form, auth=client)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"error exchanging the OIDC code: {exc}") from None
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise UpstreamError("error exchanging the OIDC code: the answer is over 1 MiB")
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code != 200:
        reason = body.get("error") if isinstance(body, dict) else None
        raise InvalidRequest(
            f"error exchanging the OIDC code: the provider answered {response.status_code}"
            + (f" ({reason})" if isinstance(reason, str) else "")
        )
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise InvalidRequest("error exchanging the OIDC code: no id_token in the answer")
    return id_token
