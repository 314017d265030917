"""The CLI's HTTP client: Vault's `/v1/` API over httpx, errors turned into advice.

It sends the token as `X-Vault-Token` (and `X-Vault-Request: true`, as Vault's client does),
returns the decoded JSON body (None for 204, and for a 404 when the caller allows it), and
raises `APIError` for any other status >= 400 with the server's `errors` and a hint at what to
do, or `Unreachable` when there is no answer at all.
"""

from __future__ import annotations

import json
import ssl
from types import TracebackType
from typing import Any, cast

import httpx

from awsbroker.cli.errors import APIError, CLIError, Unreachable
from awsbroker.cli.settings import Settings

JSON = dict[str, Any]
TIMEOUT = 60.0


class Client:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http = httpx.Client(
            base_url=settings.address,
            verify=_verify(settings),
            timeout=TIMEOUT,
            headers={"X-Vault-Request": "true"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        *,
        params: dict[str, str] | None = None,
        allow_404: bool = False,
    ) -> JSON | None:
        url = "/v1/" + path.lstrip("/")
        headers = {"X-Vault-Token": self.settings.token} if self.settings.token else {}
        if self.settings.wrap_ttl:
            headers["X-Vault-Wrap-TTL"] = self.settings.wrap_ttl
        try:
            response = self._http.request(method, url, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code == 204:
            return None
        parsed = _json(response)
        if response.status_code >= 400:
            errors = parsed.get("errors") if isinstance(parsed, dict) else None
            messages = [str(e) for e in errors] if isinstance(errors, list) else []
            if response.status_code == 404 and allow_404 and not messages:
                return None  # nothing there (an unknown mount says so in `errors`)
            if not messages and not isinstance(parsed, dict):
                messages = [response.text.strip()[:500]] if response.text.strip() else []
            raise APIError(
                method,
                str(response.url),
                response.status_code,
                messages,
                self._hint(response.status_code, messages),
            )
        if not isinstance(parsed, dict):
            raise CLIError(f"the server at {self.settings.address} did not answer with JSON")
        return cast(JSON, parsed)

    def get(self, path: str, *, allow_404: bool = False) -> JSON | None:
        return self.request("GET", path, allow_404=allow_404)

    def list_keys(self, path: str) -> JSON | None:
        return self.request("GET", path, params={"list": "true"}, allow_404=True)

    def put(self, path: str, body: JSON | None = None) -> JSON | None:
        return self.request("PUT", path, body or {})

    def delete(self, path: str) -> JSON | None:
        return self.request("DELETE", path)

    # ---- advice -----------------------------------------------------------------------------

    def _unreachable(self, exc: httpx.HTTPError) -> Unreachable:
        s = self.settings
        message = f"Error: cannot reach the server at {s.address}: {exc}"
        if isinstance(exc, httpx.ConnectError) and "CERTIFICATE" in str(exc).upper():
            hint = (
                "The server's TLS certificate was not trusted. Give its CA with -ca-cert=FILE "
                "(or AWSBROKER_CACERT), or, for development only, -tls-skip-verify."
            )
        elif isinstance(exc, httpx.RemoteProtocolError) and s.address.startswith("http://"):
            hint = (
                "The server did not answer in plain HTTP. If its listener has TLS on (no "
                "`tls_disable = true`), use an https:// address, with -ca-cert=FILE for a "
                "private CA."
            )
        else:
            hint = (
                f"Is the server running? The address came from {s.address_source}; "
                "set AWSBROKER_ADDR (or VAULT_ADDR) or pass -address=URL to change it. "
                "For a local try-out, start one with `awsbroker server --dev`."
            )
        return Unreachable(message, hint)

    def _hint(self, status: int, errors: list[str]) -> str:
        s = self.settings
        if status == 403:
            if not s.token:
                return (
                    "No token was given. Set AWSBROKER_TOKEN (or VAULT_TOKEN), or run "
                    "`awsbroker login TOKEN` to save one to the token file."
                )
            return (
                f"The token (from {s.token_source}) was refused: it is unknown, expired or "
                "revoked, or none of its policies allows this. "
                "See what it is with `awsbroker token lookup`."
            )
        if status == 503 and any("sealed" in e for e in errors):
            return (
                "The server is sealed. Unseal it with `awsbroker operator unseal`, once per "
                "key share until the threshold is reached."
            )
        if status == 501:
            return (
                "The server is not initialised yet. Initialise it with `awsbroker operator init`."
            )
        if status == 404 and any("no handler for route" in e for e in errors):
            return (
                "Nothing is mounted at that path. See the enabled secrets engines with "
                "`awsbroker secrets list`."
            )
        return ""


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if settings.skip_verify:
        return False
    try:
        if settings.ca_cert:
            return ssl.create_default_context(cafile=settings.ca_cert)
        return ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise CLIError(f"cannot load the CA certificate {settings.ca_cert}: {exc}") from None


def _json(response: httpx.Response) -> object:
    if not response.content:
        return None
    try:
        parsed: object = json.loads(response.content)
    except ValueError:
        return None
    return parsed
