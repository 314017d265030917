"""The `sys/` backend: the table of contents of every system path, one file per URL family."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core import (
    path_sys_audit,
    path_sys_auth,
    path_sys_generate_root,
    path_sys_ha,
    path_sys_internal_ui,
    path_sys_keys,
    path_sys_leases,
    path_sys_metrics,
    path_sys_mounts,
    path_sys_openapi,
    path_sys_policies,
    path_sys_rekey,
    path_sys_seal,
)
from awsbroker.sdk.framework import FrameworkBackend

if TYPE_CHECKING:
    from awsbroker.core.core import Core

# Paths that need `sudo` on top of the operation's capability (relative to sys/).
ROOT_PATHS = [
    "audit", "audit/*", "auth/*", "leases/lookup/*", "leases/revoke-prefix/*",
    "leases/revoke-force/*", "leases", "leases/", "remount", "raw", "raw/*", "rotate", "seal",
    "rotate/keyring", "host-info", "rekey/backup", "rotate/root/backup",
    "step-down", "config/auditing/*", "revoke-prefix/*", "revoke-force/*",
]  # fmt: skip
UNAUTHENTICATED_PATHS = ["init", "seal-status", "unseal", "health", "leader", "decode-token"]
# Vault's rekey and root generation answer without a token (the key shares are the
# credential) when the listener serves them at all (unauthed.py: off by default, as OpenBao's);
# OpenBao's authenticated `rotate/root/*` and `generate-root-token/*` need one.
UNAUTHENTICATED_PATHS += ["rekey/init", "rekey/update", "rekey/verify"]
UNAUTHENTICATED_PATHS += ["generate-root/attempt", "generate-root/update"]


class SystemBackend(FrameworkBackend["SystemBackend"]):
    def __init__(self, core: Core) -> None:
        super().__init__(
            self,
            [
                *path_sys_seal.paths(),
                *path_sys_ha.paths(),
                *path_sys_mounts.paths(),
                *path_sys_auth.paths(),
                *path_sys_policies.paths(),
                *path_sys_keys.paths(),
                *path_sys_rekey.paths(),
                *path_sys_generate_root.paths(),
                *path_sys_leases.paths(),
                *path_sys_internal_ui.paths(),
                *path_sys_audit.paths(),
                *path_sys_metrics.paths(),
                *path_sys_openapi.paths(),
            ],
            root_paths=ROOT_PATHS,
            unauthenticated_paths=[
                *UNAUTHENTICATED_PATHS,
                *path_sys_internal_ui.UNAUTHENTICATED_PATHS,
                *(["metrics"] if core.config.unauthenticated_metrics_access else []),
            ],
        )
        self.core = core
