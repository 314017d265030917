"""The Kubernetes backend: its paths, and the factory the composition root passes to the core."""

from __future__ import annotations

from awsbroker.auth.kubernetes import path_config, path_login, path_role
from awsbroker.auth.kubernetes.local import LocalServiceAccount
from awsbroker.auth.kubernetes.path_login import renew
from awsbroker.auth.kubernetes.store import Store
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend


class KubernetesBackend(FrameworkBackend["KubernetesBackend"]):
    def __init__(self, config: BackendConfig, local: LocalServiceAccount) -> None:
        super().__init__(
            self,
            [*path_login.paths(), *path_config.paths(), *path_role.paths()],
            unauthenticated_paths=["login"],
            renew_auth=renew,
        )
        self.config = config
        self.local = local
        self.store = Store(config.storage)


def factory(config: BackendConfig, local: LocalServiceAccount | None = None) -> KubernetesBackend:
    return KubernetesBackend(config, local or LocalServiceAccount.from_environment())
