"""Which awsbroker processes are alive, by heartbeat, so work left by a dead one is not waited on.

Each process has a random boot ID and writes `sys/nodes/<boot id>` every `HEARTBEAT` seconds.
A boot whose heartbeat is older than `DEAD_AFTER` (or missing) is dead: for example, a
write-ahead entry it left can be rolled back at once, since none of its requests is running.
"""

from __future__ import annotations

import json
import uuid

from awsbroker.sdk.clock import Clock
from awsbroker.sdk.storage import Storage

HEARTBEAT = 5.0
DEAD_AFTER = 30.0
FORGET_AFTER = 7 * 24 * 3600.0


class NodeRegistry:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self.boot_id = str(uuid.uuid4())
        self._last_beat = float("-inf")

    def heartbeat(self, *, force: bool = False) -> None:
        now = self._clock.now()
        if not force and now - self._last_beat < HEARTBEAT:
            return
        self._storage.put(self.boot_id, json.dumps({"seen": now}).encode())
        self._last_beat = now

    def alive(self, boot_id: str) -> bool:
        if boot_id == self.boot_id:
            return True
        blob = self._storage.get(boot_id) if boot_id else None
        if blob is None:
            return False
        return bool(self._clock.now() - float(json.loads(blob)["seen"]) < DEAD_AFTER)

    def forget_dead(self) -> None:
        now = self._clock.now()
        for boot_id in self._storage.list(""):
            blob = self._storage.get(boot_id)
            if blob is not None and now - float(json.loads(blob)["seen"]) > FORGET_AFTER:
                self._storage.delete(boot_id)
