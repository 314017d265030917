"""What one mount's backend may ask of the core, and nothing more (Vault's `SystemView`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from awsbroker.core.mounts import MountEntry
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.logical import JSONObject

if TYPE_CHECKING:
    from awsbroker.core.core import Core


class MountSystemView:
    """What one mount's backend may ask of the core: its effective TTLs (tuned, else the
    server's), the clock, process liveness, and its jobs (kept in the expiry index)."""

    def __init__(self, core: Core, entry: MountEntry) -> None:
        self._core = core
        self._entry = entry

    @property
    def entry(self) -> MountEntry:
        """The mount's entry in the node's current table (tuned since the backend was built,
        perhaps on another node), or the one it was built from once it is gone."""
        current = self._core.mount_entry(self._entry.path)
        return current if current is not None and current.uuid == self._entry.uuid else self._entry

    def default_lease_ttl(self) -> int:
        return self.entry.config.default_lease_ttl or self._core.config.default_lease_ttl

    def max_lease_ttl(self) -> int:
        return self.entry.config.max_lease_ttl or self._core.config.max_lease_ttl

    @property
    def clock(self) -> Clock:
        return self._core.config.clock

    @property
    def boot_id(self) -> str:
        return self._core.nodes.boot_id

    def node_alive(self, boot_id: str) -> bool:
        return self._core.nodes.alive(boot_id)

    def lease_exists(self, lease_id: str) -> bool:
        return self._core.expiration.get(lease_id) is not None

    def revoke_leases(
        self, prefix: str, issued_before: float, which: Callable[[JSONObject], bool]
    ) -> list[str]:
        base = self.entry.path + prefix
        return self._core.expiration.revoke_issued_before(base, issued_before, which)

    def schedule_job(self, name: str, at: float) -> None:
        self._core.expiration.schedule_job(self._entry.path, name, at)

    def cancel_job(self, name: str) -> None:
        self._core.expiration.cancel_job(self._entry.path, name)
