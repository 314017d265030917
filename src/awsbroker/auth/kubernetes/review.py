"""One call to the Kubernetes TokenReview API: is this token a live service account's?

    POST <kubernetes_host>/apis/authentication.k8s.io/v1/tokenreviews
    Authorization: Bearer <reviewer token>
    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
     "spec": {"token": <login JWT>, "audiences": [<role's audience>]}}

The answer's `status.user.username` is `system:serviceaccount:<namespace>:<name>` for a
service account. Neither token is ever logged or put in an error: errors name the host only.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from awsbroker.sdk.errors import InvalidRequest

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
TIMEOUT = 10.0
MAX_ANSWER_BYTES = 1 << 20
SA_PREFIX = "system:serviceaccount:"


class ReviewUnavailable(Exception):
    """The API server could not give an answer (unreachable, TLS, timeout, refused the reviewer,
    or answered nonsense); the message names the host and the reason, never a token."""


class ReviewerRefused(ReviewUnavailable):
    """The API server answered 401/403 to the reviewer's bearer token."""


@dataclass(frozen=True)
class Reviewed:
    """What the API server says of a token: authenticated or not, and whose it is."""

    authenticated: bool
    username: str = ""
    uid: str = ""
    audiences: list[str] = field(default_factory=list)
    error: str = ""

    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) when the user is a service account, else None."""
        if not self.username.startswith(SA_PREFIX):
            return None
        parts = self.username[len(SA_PREFIX) :].split(":")
        if len(parts) != 2 or not all(parts):
            return None
        return parts[0], parts[1]


def base_url(host: str) -> str:
    """`kubernetes_host` as a base URL: a host, host:port or URL (Vault's forms); https when
    no scheme is given. A 400 when it cannot be one."""
    host = host.strip().rstrip("/")
    if not host:
        raise InvalidRequest("no host provided")
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"kubernetes_host {host!r} is not a host, host:port or URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidRequest("kubernetes_host must not carry user info, a query or a fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidRequest(f"kubernetes_host {host!r} has an invalid port") from None
    return host


def ssl_context(ca_pem: str) -> ssl.SSLContext:
    """TLS trusting only `ca_pem`'s CAs, or the system's when it is empty."""
    if not ca_pem.strip():
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError):
        raise InvalidRequest("kubernetes_ca_cert holds no valid PEM certificate") from None


def review(
    host: str,
    ca_pem: str,
    bearer: str,
    token: str,
    audiences: list[str],
    *,
    timeout: float = TIMEOUT,
) -> Reviewed:
    """Ask the API server at `host` about `token`, as `bearer`."""
    url = base_url(host) + REVIEW_PATH
    spec: dict[str, object] = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
    where = base_url(host)
    try:
        tls = ssl_context(ca_pem)
    except InvalidRequest:  # the pod's own ca.crt, or a config written before this check
        raise ReviewUnavailable(f"{where}: the CA PEM holds no valid certificate") from None
    try:
        with httpx.Client(verify=tls, timeout=timeout) as client:
            answer = client.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
            )
    except httpx.TimeoutException:
        raise ReviewUnavailable(f"{where}: no answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise ReviewUnavailable(f"{where}: {type(exc).__name__}: {_reason(exc)}") from None
    if answer.status_code in (401, 403):
        raise ReviewerRefused(f"{where}: HTTP {answer.status_code} to the reviewer's token")
    if not 200 <= answer.status_code < 300:
        raise ReviewUnavailable(f"{where}: HTTP {answer.status_code}")
    return _parse(where, answer.content[:MAX_ANSWER_BYTES])


def _reason(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(cause or exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _parse(where: str, content: bytes) -> Reviewed:
    try:
        doc = json.loads(content)
    except ValueError:
        raise ReviewUnavailable(f"{where}: the TokenReview answer is not JSON") from None
    status = doc.get("status") if isinstance(doc, dict) else None
    if not isinstance(status, dict):
        raise ReviewUnavailable(f"{where}: the TokenReview answer has no status")
    user = status.get("user")
    user = user if isinstance(user, dict) else {}
    auds = status.get("audiences")
    return Reviewed(
        authenticated=status.get("authenticated") is True,
        username=str(user.get("username") or ""),
        uid=str(user.get("uid") or ""),
        audiences=[str(a) for a in auds] if isinstance(auds, list) else [],
        error=str(status.get("error") or "")[:200],
    )
