"""Throttling of failed logins: a token bucket per (auth mount accessor, client address).

Every auth method's login goes through the core (`Core._handle`), so this is the one place
that slows down guessing, for every method: AppRole now, JWT and Kubernetes alike. What counts
is a *failed* attempt: a login that a method refused as the caller's fault (400 or 403), or a
credential check that answered "no such credential" (a backend sets
`Request.refused_credential`, e.g. AppRole's `secret-id/lookup` with a wrong ID). A workload
that logs in successfully a thousand times a minute is never throttled; one that fails keeps
its bucket draining.

An IPv6 client is keyed by its /64 network, the block one host is usually given.

The bucket holds `burst` attempts and refills at `failures_per_minute`. While it holds less
than one, every guess from that address on that mount is refused with 429 and a `Retry-After`
of the seconds until it holds one again — a correct credential too: answering it would tell a
guesser that it had found one, so the throttle is checked before the method runs.

Memory is bounded: at most `max_addresses` buckets are kept, the least recently touched
evicted first, and a bucket that has refilled is forgotten. The counters are per node: a
guesser spreading across N nodes gets N times the rate (docs/architecture.md).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

from awsbroker.sdk.clock import Clock

log = logging.getLogger("awsbroker.core.login")


@dataclass(frozen=True)
class LoginRateLimit:
    """The server configuration's `login_rate_limit` block."""

    failures_per_minute: float = 10.0
    burst: int = 20
    max_addresses: int = 100_000
    disable: bool = False


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


def source(address: str) -> str:
    """What a bucket is kept for: the address, or for IPv6 its /64 network, which one host
    commonly holds whole (a bucket per IPv6 address would be a bucket per guess)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return address


class LoginThrottle:
    def __init__(self, limit: LoginRateLimit, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._rate = limit.failures_per_minute / 60.0
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, accessor: str, address: str, mount_path: str) -> int:
        """0 when a guess from `address` on the mount may go ahead, else the whole seconds to
        wait. Logs one WARNING per throttled address each time it becomes throttled."""
        if self.limit.disable:
            return 0
        address = source(address)
        with self._lock:
            bucket = self._refilled((accessor, address))
            if bucket is None or bucket.tokens >= 1.0:
                return 0
            wait = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
            if not bucket.warned:
                bucket.warned = True
                log.warning(
                    "login attempts from %s on %s throttled for %ds after repeated failures",
                    address or "an unknown address",
                    mount_path,
                    wait,
                )
            return wait

    def failed(self, accessor: str, address: str) -> None:
        """Spend one attempt of the address's bucket on the mount."""
        if self.limit.disable:
            return
        key = (accessor, source(address))
        with self._lock:
            bucket = self._refilled(key)
            if bucket is None:
                bucket = _Bucket(float(self.limit.burst), self._clock.now())
                self._buckets[key] = bucket
                while len(self._buckets) > self.limit.max_addresses:
                    self._buckets.popitem(last=False)
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            self._buckets.move_to_end(key)

    def tracked(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _refilled(self, key: tuple[str, str]) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        now = self._clock.now()
        bucket.tokens = min(
            float(self.limit.burst), bucket.tokens + (now - bucket.updated) * self._rate
        )
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.warned = False  # the next throttling is a new window: warn again
        if bucket.tokens >= self.limit.burst:
            del self._buckets[key]  # full again: nothing to remember
            return None
        return bucket
