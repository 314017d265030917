"""A `SystemView` for engine unit tests: fixed TTLs, a manual clock, and controllable liveness."""

from __future__ import annotations

from awsbroker.sdk.clock import Clock, ManualClock


class FakeSystemView:
    def __init__(
        self,
        clock: ManualClock | None = None,
        *,
        default_ttl: int = 3600,
        max_ttl: int = 86400,
        boot_id: str = "boot-current",
    ) -> None:
        self._clock = clock or ManualClock()
        self._default, self._max = default_ttl, max_ttl
        self._boot = boot_id
        self.alive: set[str] = {boot_id}

    def default_lease_ttl(self) -> int:
        return self._default

    def max_lease_ttl(self) -> int:
        return self._max

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def boot_id(self) -> str:
        return self._boot

    def node_alive(self, boot_id: str) -> bool:
        return boot_id in self.alive
