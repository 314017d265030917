"""The AppRole backend: its paths, and the factory the composition root passes to the core."""

from __future__ import annotations

from awsbroker.auth.approle import path_login, path_role, path_secret_id
from awsbroker.auth.approle.path_login import renew
from awsbroker.auth.approle.store import Store
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend


class AppRoleBackend(FrameworkBackend["AppRoleBackend"]):
    def __init__(self, config: BackendConfig) -> None:
        super().__init__(
            self,
            [*path_login.paths(), *path_secret_id.paths(), *path_role.paths()],
            unauthenticated_paths=["login"],
            renew_auth=renew,
        )
        self.config = config
        self.store = Store(config.storage)

    def now(self) -> float:
        return self.config.system.clock.now()


def factory(config: BackendConfig) -> AppRoleBackend:
    return AppRoleBackend(config)
