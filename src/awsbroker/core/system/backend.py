"""The `sys/` backend: the table of contents of every system path, one file per URL family."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.system import (
    path_audit,
    path_auth,
    path_generate_root,
    path_ha,
    path_internal_ui,
    path_keys,
    path_leases,
    path_metrics,
    path_mounts,
    path_openapi,
    path_policies,
    path_rekey,
    path_seal,
    path_wrapping,
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
UNAUTHENTICATED_PATHS += ["wrapping/lookup"]
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
                *path_seal.paths(),
                *path_ha.paths(),
                *path_mounts.paths(),
                *path_auth.paths(),
                *path_policies.paths(),
                *path_keys.paths(),
                *path_rekey.paths(),
                *path_generate_root.paths(),
                *path_leases.paths(),
                *path_internal_ui.paths(),
                *path_audit.paths(),
                *path_metrics.paths(),
                *path_openapi.paths(),
                *path_wrapping.paths(),
            ],
            root_paths=ROOT_PATHS,
            unauthenticated_paths=[
                *UNAUTHENTICATED_PATHS,
                *path_internal_ui.UNAUTHENTICATED_PATHS,
                *(["metrics"] if core.config.unauthenticated_metrics_access else []),
            ],
        )
        self.core = core
