"""The JWT/OIDC backend (Vault's `jwt` plugin, mounted as type `jwt` or `oidc`): its paths,
and the factory the composition root passes to the core.

The only state a mount keeps in memory is its key-set cache, which is a view of the issuer's
remote document, never of our storage: it is kept for the stored config it was made for (the
record's bytes), so a config written on any node drops it at the next login here."""

from __future__ import annotations

import threading

from awsbroker.auth.jwt import path_config, path_login, path_role
from awsbroker.auth.jwt.jwks import Fetcher, HttpFetcher, KeySetCache
from awsbroker.auth.jwt.path_login import renew
from awsbroker.auth.jwt.store import Store
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend


class JwtBackend(FrameworkBackend["JwtBackend"]):
    def __init__(self, config: BackendConfig, fetcher: Fetcher | None = None) -> None:
        super().__init__(
            self,
            [*path_login.paths(), *path_config.paths(), *path_role.paths()],
            unauthenticated_paths=["login"],
            renew_auth=renew,
        )
        self.config = config
        self.store = Store(config.storage)
        self.fetcher = fetcher or HttpFetcher()
        self._lock = threading.Lock()
        self._cache: tuple[bytes, KeySetCache] | None = None

    def now(self) -> float:
        return self.config.system.clock.now()

    def key_sets(self, config_blob: bytes) -> KeySetCache:
        """The key-set cache of the config stored as `config_blob`; a new one (nothing
        cached) whenever the stored config differs from the one the cache was made for."""
        with self._lock:
            if self._cache is None or self._cache[0] != config_blob:
                self._cache = (config_blob, KeySetCache(self.config.system.clock, self.fetcher))
            return self._cache[1]


def factory(config: BackendConfig) -> JwtBackend:
    return JwtBackend(config)
