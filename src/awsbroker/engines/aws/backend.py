"""The AWS secrets engine: its table of contents.

Paths: `config/root`, `config/lease`, `roles/`, `creds/` and `sts/`. One secret type,
`access_keys`, renewed and revoked by the lease manager. A periodic job rolls back
half-made IAM users whose write-ahead entries outlived their request.
"""

from __future__ import annotations

from awsbroker.engines.aws import (
    iam_user,
    path_config_lease,
    path_config_root,
    path_creds,
    path_roles,
    wal,
)
from awsbroker.engines.aws.client import AWSClients
from awsbroker.sdk.framework import BackendConfig, FrameworkBackend, SecretType

SECRET_ACCESS_KEYS = "access_keys"  # noqa: S105 - a secret type name


class AWSBackend(FrameworkBackend["AWSBackend"]):
    def __init__(self, config: BackendConfig) -> None:
        super().__init__(
            self,
            paths=[
                *path_config_root.paths(),
                *path_config_lease.paths(),
                *path_roles.paths(),
                *path_creds.paths(),
            ],
            secrets=[
                SecretType(SECRET_ACCESS_KEYS, revoke=iam_user.revoke, renew=iam_user.renew),
            ],
            periodic=wal.rollback_due,
        )
        self.storage = config.storage
        self.system = config.system
        self.mount_path = config.mount_path
        self.clients = AWSClients(lambda: path_config_root.load(self))


def factory(config: BackendConfig) -> AWSBackend:
    return AWSBackend(config)
