"""A `SystemView` for engine unit tests: fixed TTLs, a manual clock, controllable liveness, and
a job schedule with a runner that behaves as the core's expiry worker does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from awsbroker.sdk.clock import Clock, ManualClock
from awsbroker.sdk.errors import InternalError
from awsbroker.sdk.logical import JSONObject

JOB_RETRY_BASE = 10.0


class JobRunner(Protocol):
    def run_job(self, name: str) -> float | None: ...


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
        self.leases: set[str] = set()  # lease IDs the 'core' has stored
        self.alive: set[str] = {boot_id}
        self.jobs: dict[str, float] = {}
        self.failures: dict[str, int] = {}
        self.errors: dict[str, Exception] = {}
        # For `revoke_leases`: each stored lease's issue time and internal data, where the
        # mount is, and what revoking one does (the backend's revocation, as the core's).
        self.records: dict[str, tuple[float, JSONObject]] = {}
        self.mount_path = "aws/"
        self.revoker: Callable[[str, JSONObject, float], None] | None = None

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

    def lease_exists(self, lease_id: str) -> bool:
        return lease_id in self.leases

    def revoke_leases(
        self, prefix: str, issued_before: float, which: Callable[[JSONObject], bool]
    ) -> list[str]:
        revoked: list[str] = []
        failed: list[str] = []
        for lease_id in sorted(self.leases):
            issued, internal = self.records.get(lease_id, (0.0, {}))
            if not lease_id.startswith(self.mount_path + prefix):
                continue
            if issued >= issued_before or not which(internal):
                continue
            try:
                if self.revoker is not None:
                    self.revoker(lease_id, internal, issued)
            except Exception as exc:
                failed.append(f"{lease_id}: {exc}")
                continue
            self.leases.discard(lease_id)
            revoked.append(lease_id)
        if failed:
            raise InternalError(f"{len(failed)} lease(s) could not be revoked: {failed[0]}")
        return revoked

    def node_alive(self, boot_id: str) -> bool:
        return boot_id in self.alive

    def schedule_job(self, name: str, at: float) -> None:
        self.jobs[name] = at

    def cancel_job(self, name: str) -> None:
        self.jobs.pop(name, None)

    def run_due(self, backend: JobRunner) -> list[str]:
        """Run every due job once, as the core's worker does: the answer reschedules it (None
        drops it), an exception retries it after 10 s, 20 s... Returns the names run."""
        now = self._clock.now()
        ran: list[str] = []
        for name, at in sorted(self.jobs.items(), key=lambda item: (item[1], item[0])):
            if at > now:
                continue
            ran.append(name)
            try:
                following = backend.run_job(name)
            except Exception as exc:
                self.errors[name] = exc
                attempts = self.failures.get(name, 0) + 1
                self.failures[name] = attempts
                self.jobs[name] = now + JOB_RETRY_BASE * 2 ** (attempts - 1)
                continue
            self.failures.pop(name, None)
            if following is None:
                self.jobs.pop(name, None)
            else:
                self.jobs[name] = max(following, now)
        return ran
