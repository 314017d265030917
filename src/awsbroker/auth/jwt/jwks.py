"""Key sets fetched over HTTPS: from `jwks_url`, or from the `jwks_uri` of an OIDC issuer's
discovery document, each with an optional CA (`jwks_ca_pem`, `oidc_discovery_ca_pem`).

`RemoteKeySet` caches one source's keys and refetches them when a token names a `kid` it does
not hold (the issuer rotated its keys) or when they are an hour old, but never more than once a
minute, counting failed attempts: whoever sends tokens, which needs no authentication, cannot
make us fetch at will. While a refetch fails, the keys fetched before keep working.

The cache is a view of a remote document, not of our storage. `KeySetCache` (one per mount)
hands out the `RemoteKeySet` of the source a config names, so a config written on any node
takes effect at the next login that reads it, and the old source's cache is dropped."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from awsbroker.auth.jwt.keys import VerificationKey, parse_jwks
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.errors import InvalidRequest, UpstreamError

log = logging.getLogger("awsbroker.auth.jwt")

REFETCH_INTERVAL = 60.0
MAX_AGE = 3600.0
TIMEOUT = 10.0
MAX_DOCUMENT_BYTES = 1 << 20


class FetchError(Exception):
    """A key set or discovery document could not be had; the message names the URL."""


class Fetcher(Protocol):
    def get_json(self, url: str, ca_pem: str) -> object:
        """The JSON document at `url`, trusting only `ca_pem`'s CAs when it is set."""
        ...


@dataclass(frozen=True)
class KeySetSource:
    """Where a mount's keys come from: a JWKS URL, or (`discovery`) an OIDC issuer URL."""

    url: str
    ca_pem: str = ""
    discovery: bool = False


def shown_url(url: str) -> str:
    """`url` as errors and logs show it: without user info, query or fragment, which may
    carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(not a URL)"


def ssl_context(ca_pem: str) -> ssl.SSLContext:
    """TLS trusting the CAs of `ca_pem`, or the system's when it is empty; a 400 when the PEM
    holds no certificate."""
    if not ca_pem.strip():
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError):
        raise InvalidRequest("the CA PEM holds no valid certificate") from None


class HttpFetcher:
    """Fetches JSON with httpx: at most `timeout` seconds for each network wait and for the
    whole body, at most 1 MiB, redirects followed."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout

    def get_json(self, url: str, ca_pem: str) -> object:
        shown = shown_url(url)
        try:
            with (
                httpx.Client(verify=ssl_context(ca_pem), timeout=self._timeout) as client,
                client.stream("GET", url, follow_redirects=True) as response,
            ):
                if response.status_code != 200:
                    raise FetchError(f"GET {shown} answered {response.status_code}")
                body = b""
                deadline = time.monotonic() + self._timeout
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise FetchError(f"GET {shown}: the document is over 1 MiB")
                    if time.monotonic() > deadline:
                        raise FetchError(f"GET {shown}: no whole answer in {self._timeout:g}s")
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {shown} failed: {exc}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise FetchError(f"GET {shown}: the answer is not JSON") from None


def fetch_keys(source: KeySetSource, fetcher: Fetcher) -> tuple[VerificationKey, ...]:
    """The keys of `source`, through its discovery document when it is an issuer."""
    jwks_url = source.url
    if source.discovery:
        discovery_url = source.url.rstrip("/") + "/.well-known/openid-configuration"
        discovery = shown_url(discovery_url)
        document = fetcher.get_json(discovery_url, source.ca_pem)
        if not isinstance(document, dict):
            raise FetchError(f"{discovery} is not a discovery document (not a JSON object)")
        if document.get("issuer") != source.url:
            raise FetchError(
                f"{discovery} names issuer {document.get('issuer')!r},"
                f" not {shown_url(source.url)!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise FetchError(f"{discovery} names no jwks_uri")
        jwks_url = jwks_uri
    try:
        return parse_jwks(fetcher.get_json(jwks_url, source.ca_pem), shown_url(jwks_url))
    except ValueError as exc:
        raise FetchError(str(exc)) from None


class RemoteKeySet:
    """One source's keys, cached; a `KeyLookup`. Safe to share between threads: one fetch
    at a time, and logins wait for it rather than fetch again."""

    def __init__(self, source: KeySetSource, fetcher: Fetcher, clock: Clock) -> None:
        self.source = source
        self._fetcher = fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: tuple[VerificationKey, ...] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._last_error = ""

    def keys_for(self, kid: str | None) -> Sequence[VerificationKey]:
        with self._lock:
            now = self._clock.now()
            keys = self._keys
            if (
                keys is None
                or now - self._fetched_at >= MAX_AGE
                or (kid is not None and all(k.kid != kid for k in keys))
            ):
                keys = self._refresh(now)
            return [k for k in keys if kid is None or k.kid == kid]

    def _refresh(self, now: float) -> tuple[VerificationKey, ...]:
        if self._attempted_at is None or now - self._attempted_at >= REFETCH_INTERVAL:
            self._attempted_at = now
            try:
                self._keys = fetch_keys(self.source, self._fetcher)
                self._fetched_at = now
            except FetchError as exc:
                self._last_error = str(exc)
                log.warning("fetching the JWT key set failed: %s", exc)
        if self._keys is None:
            wait = REFETCH_INTERVAL - (now - (self._attempted_at or now))
            raise UpstreamError(
                f"the key set could not be fetched: {self._last_error}"
                f" (next attempt in {max(wait, 0):.0f}s)"
            )
        return self._keys


class KeySetCache:
    """A mount's cached key set: the `RemoteKeySet` of the source its config names now."""

    def __init__(self, clock: Clock, fetcher: Fetcher | None = None) -> None:
        self._clock = clock
        self._fetcher = fetcher or HttpFetcher()
        self._lock = threading.Lock()
        self._current: RemoteKeySet | None = None

    def remote(self, source: KeySetSource) -> RemoteKeySet:
        with self._lock:
            if self._current is None or self._current.source != source:
                self._current = RemoteKeySet(source, self._fetcher, self._clock)
            return self._current
