"""A JWT mount's config (the validation part of Vault's `auth/jwt/config`): where the keys come
from (exactly one of `oidc_discovery_url`, `jwks_url`, `jwt_validation_pubkeys`), which
algorithms are accepted, and the issuer every token must name. `validate()` is the write-time
check; `key_lookup()` gives a login the keys to verify with; `check_source()` is Vault's
fetch of a remote key set when a config is written."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from awsbroker.auth.jwt.algorithms import parse_supported
from awsbroker.auth.jwt.jwks import (
    Fetcher,
    FetchError,
    KeySetCache,
    KeySetSource,
    fetch_keys,
    ssl_context,
)
from awsbroker.auth.jwt.keys import KeyLookup, StaticKeys, parse_pem_keys
from awsbroker.sdk.errors import InvalidRequest
from awsbroker.sdk.logical import JSONObject

_LISTS = ("jwt_validation_pubkeys", "jwt_supported_algs")


@dataclass(frozen=True)
class JwtConfig:
    oidc_discovery_url: str = ""
    oidc_discovery_ca_pem: str = ""
    jwks_url: str = ""
    jwks_ca_pem: str = ""
    jwt_validation_pubkeys: tuple[str, ...] = ()
    jwt_supported_algs: tuple[str, ...] = ()
    bound_issuer: str = ""

    def validate(self) -> None:
        """A 400 naming what to fix, or nothing."""
        sources = [self.oidc_discovery_url, self.jwks_url, self.jwt_validation_pubkeys]
        if sum(1 for s in sources if s) != 1:
            raise InvalidRequest(
                "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url'"
                " must be set"
            )
        for name, url in (
            ("oidc_discovery_url", self.oidc_discovery_url),
            ("jwks_url", self.jwks_url),
        ):
            parts = urlsplit(url)
            if url and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise InvalidRequest(f"{name} must be an http(s) URL, got {url!r}")
        for name, pem in (
            ("oidc_discovery_ca_pem", self.oidc_discovery_ca_pem),
            ("jwks_ca_pem", self.jwks_ca_pem),
        ):
            try:
                ssl_context(pem)
            except InvalidRequest:
                raise InvalidRequest(f"{name} holds no valid PEM certificate") from None
        parse_pem_keys(self.jwt_validation_pubkeys)
        self.supported_algs()

    def supported_algs(self) -> tuple[str, ...]:
        return parse_supported(self.jwt_supported_algs)

    def key_source(self) -> KeySetSource | None:
        """The remote key set, or None when the keys are the config's own PEMs."""
        if self.oidc_discovery_url:
            return KeySetSource(self.oidc_discovery_url, self.oidc_discovery_ca_pem, True)
        if self.jwks_url:
            return KeySetSource(self.jwks_url, self.jwks_ca_pem)
        return None

    def key_lookup(self, cache: KeySetCache) -> KeyLookup:
        """The keys a login verifies with: the PEMs, or the mount's cached remote key set."""
        source = self.key_source()
        if source is None:
            return StaticKeys(parse_pem_keys(self.jwt_validation_pubkeys))
        return cache.remote(source)

    def check_source(self, fetcher: Fetcher) -> None:
        """Fetch the remote key set once, as Vault does when a config is written: a 400 when
        it cannot be had, naming where and why."""
        source = self.key_source()
        if source is None:
            return
        name = "oidc discovery URL" if source.discovery else "jwks URL"
        try:
            fetch_keys(source, fetcher)
        except FetchError as exc:
            raise InvalidRequest(f"error checking {name}: {exc}") from None

    def to_response(self) -> JSONObject:
        """The `config` read, in Vault's names."""
        data: JSONObject = asdict(self)
        for name in _LISTS:
            data[name] = list(getattr(self, name))
        return data

    def to_record(self) -> bytes:
        return json.dumps(self.to_response()).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> JwtConfig:
        raw = json.loads(blob)

        def text(name: str) -> str:
            return str(raw.get(name) or "")

        def strings(name: str) -> tuple[str, ...]:
            return tuple(str(v) for v in raw.get(name) or ())

        return cls(
            oidc_discovery_url=text("oidc_discovery_url"),
            oidc_discovery_ca_pem=text("oidc_discovery_ca_pem"),
            jwks_url=text("jwks_url"),
            jwks_ca_pem=text("jwks_ca_pem"),
            jwt_validation_pubkeys=strings("jwt_validation_pubkeys"),
            jwt_supported_algs=strings("jwt_supported_algs"),
            bound_issuer=text("bound_issuer"),
        )
