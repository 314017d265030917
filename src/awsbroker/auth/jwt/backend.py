"""The JWT/OIDC backend (Vault's `jwt` plugin, mounted as type `jwt` or `oidc`): its paths,
and the factory the composition root passes to the core.

The only state a mount keeps in memory is its key-set cache, which is a view of the issuer's
remote document, never of our storage: it is kept for the stored config it was made for (the
record's bytes), so a config written on any node drops it at the next login here."""

from __future__ import annotations

import threading

from awsbroker.auth.jwt import path_config, path_login, path_oidc, path_role
from awsbroker.auth.jwt.jwks import REFETCH_INTERVAL, Fetcher, HttpFetcher, KeySetCache, shown_url
from awsbroker.auth.jwt.oidc_client import Endpoints, discovery_url, endpoints
from awsbroker.auth.jwt.path_login import renew
from awsbroker.auth.jwt.store import Store, StoredConfig
from awsbroker.sdk.errors import UpstreamError
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend


class JwtBackend(FrameworkBackend["JwtBackend"]):
    def __init__(self, config: BackendConfig, fetcher: Fetcher | None = None) -> None:
        super().__init__(
            self,
            [
                *path_login.paths(),
                *path_oidc.paths(),
                *path_config.paths(),
                *path_role.paths(),
            ],
            unauthenticated_paths=["login", "oidc/auth_url", "oidc/callback"],
            renew_auth=renew,
            periodic=JwtBackend.sweep,
        )
        self.config = config
        self.store = Store(config.storage)
        self.fetcher = fetcher or HttpFetcher()
        self._lock = threading.Lock()
        self._cache: tuple[bytes, KeySetCache] | None = None
        self._endpoints: tuple[bytes, Endpoints] | None = None
        # The last failed discovery fetch: (config blob, when, error), and the fetch's lock.
        self._discovery_failed: tuple[bytes, float, str] | None = None
        self._discovering = threading.Lock()

    def now(self) -> float:
        return self.config.system.clock.now()

    def sweep(self) -> None:
        """The periodic job: forget OIDC requests that were never called back."""
        self.store.sweep_states(self.now())

    def key_sets(self, config_blob: bytes) -> KeySetCache:
        """The key-set cache of the config stored as `config_blob`; a new one (nothing
        cached) whenever the stored config differs from the one the cache was made for."""
        with self._lock:
            if self._cache is None or self._cache[0] != config_blob:
                self._cache = (config_blob, KeySetCache(self.config.system.clock, self.fetcher))
            return self._cache[1]

    def oidc_endpoints(self, stored: StoredConfig) -> Endpoints:
        """The provider's OIDC endpoints, fetched once per stored config (as the key set is),
        so a caller of the unauthenticated `oidc/auth_url` cannot make us fetch at will. A
        failed fetch is remembered for `REFETCH_INTERVAL` (its 502 answered at once), and one
        request fetches at a time: the others get a 502 at once rather than a thread each
        waiting on a provider that is down."""
        remembered = self._remembered_endpoints(stored)
        if remembered is not None:
            return remembered
        config = stored.config
        if not self._discovering.acquire(blocking=False):
            url = shown_url(discovery_url(config.oidc_discovery_url))
            raise UpstreamError(f"{url} is being fetched by another request; try again shortly")
        try:
            # Another request may have finished a fetch between our look and the lock.
            remembered = self._remembered_endpoints(stored)
            if remembered is not None:
                return remembered
            now = self.now()
            try:
                found = endpoints(
                    config.oidc_discovery_url, config.oidc_discovery_ca_pem, self.fetcher
                )
            except UpstreamError as exc:
                with self._lock:
                    self._discovery_failed = (stored.blob, now, str(exc))
                raise
            with self._lock:
                self._endpoints = (stored.blob, found)
                self._discovery_failed = None
            return found
        finally:
            self._discovering.release()

    def _remembered_endpoints(self, stored: StoredConfig) -> Endpoints | None:
        """The endpoints fetched for `stored`, or its fetch's failure (a 502) if that was less
        than `REFETCH_INTERVAL` ago; None when it is time to fetch."""
        with self._lock:
            cached, failed = self._endpoints, self._discovery_failed
        if cached is not None and cached[0] == stored.blob:
            return cached[1]
        now = self.now()
        if failed is not None and failed[0] == stored.blob and now - failed[1] < REFETCH_INTERVAL:
            wait = REFETCH_INTERVAL - (now - failed[1])
            raise UpstreamError(f"{failed[2]} (next attempt in {max(wait, 0):.0f}s)")
        return None


def factory(config: BackendConfig) -> JwtBackend:
    return JwtBackend(config)
