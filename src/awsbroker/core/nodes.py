"""Which awsbroker processes (nodes) are alive, by heartbeat, and what each says about itself.

Each process has a random boot ID and, while unsealed, writes `sys/nodes/<boot id>` every
`dead_after / 6` seconds (5 s by default; the server from a thread that does nothing else):
the time, and what `sys/ha-status` shows of it (its host name, addresses and version) with
the newest storage format it understands (upgrade.py).
A boot whose heartbeat is older than `dead_after` (30 s by default), or missing, is dead: for
example, a write-ahead entry it left can be rolled back at once, since none of its requests is
running; and it leaves `sys/ha-status`.

The record keeps the `seen` key of the first heartbeats, which carried nothing else: a node of
an older build reads its time from there, and here such a record reads as format 1.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from typing import Protocol

from awsbroker import __version__
from awsbroker.sdk import records
from awsbroker.sdk.clock import Clock
from awsbroker.sdk.logical import JSONObject, JSONValue
from awsbroker.sdk.storage import Storage

DEAD_AFTER = 30.0
# Beats per `dead_after`: a node is taken for dead only after this many missed in a row.
BEATS_PER_LIFETIME = 6
FORGET_AFTER = 7 * 24 * 3600.0
FIRST_FORMAT = 1  # what a heartbeat without `storage_format` (an older build's) understands


class NodeConfig(Protocol):
    """What the registry needs of the core's configuration."""

    @property
    def clock(self) -> Clock: ...

    @property
    def api_addr(self) -> str: ...

    @property
    def cluster_addr(self) -> str: ...

    @property
    def node_dead_after(self) -> float | None: ...


@dataclass(frozen=True)
class NodeRecord:
    """One node's last heartbeat."""

    boot_id: str
    seen: float
    hostname: str = ""
    api_address: str = ""
    cluster_address: str = ""
    version: str = ""
    storage_format: int = FIRST_FORMAT

    def to_record(self) -> JSONObject:
        return {
            "seen": self.seen,
            "hostname": self.hostname,
            "api_address": self.api_address,
            "cluster_address": self.cluster_address,
            "version": self.version,
            "storage_format": self.storage_format,
        }

    @classmethod
    def from_record(cls, boot_id: str, record: JSONObject) -> NodeRecord:
        return cls(
            boot_id=boot_id,
            seen=_number(record.get("seen")),
            hostname=_text(record.get("hostname")),
            api_address=_text(record.get("api_address")),
            cluster_address=_text(record.get("cluster_address")),
            version=_text(record.get("version")),
            storage_format=int(_number(record.get("storage_format"), FIRST_FORMAT)),
        )


class NodeRegistry:
    def __init__(self, storage: Storage, config: NodeConfig) -> None:
        self._storage = storage
        self.clock = config.clock
        self.boot_id = str(uuid.uuid4())
        self.hostname = socket.gethostname()
        self.api_address = config.api_addr
        self.cluster_address = config.cluster_addr
        self.dead_after = config.node_dead_after or DEAD_AFTER
        self.heartbeat_every = self.dead_after / BEATS_PER_LIFETIME
        # The newest storage format this build reads, for the others to see before they upgrade
        # the storage; `upgrade.StorageFormat`, which owns the steps, sets it.
        self.storage_format = FIRST_FORMAT
        # When this node last unsealed (`sys/leader`'s `active_time`); 0 before.
        self.active_since = 0.0
        self._last_beat = float("-inf")

    def heartbeat(self, *, force: bool = False) -> None:
        """Beat if one is due. `force` is the core's at unseal: beat now, and count this node
        active from now."""
        now = self.clock.now()
        if not force and now - self._last_beat < self.heartbeat_every:
            return
        record = NodeRecord(
            self.boot_id,
            now,
            self.hostname,
            self.api_address,
            self.cluster_address,
            __version__,
            self.storage_format,
        )
        records.put_record(self._storage, self.boot_id, record.to_record())
        self._last_beat = now
        if force:
            self.active_since = now

    def alive(self, boot_id: str) -> bool:
        if boot_id == self.boot_id:
            return True
        node = self._read(boot_id) if boot_id else None
        return node is not None and self._fresh(node)

    def live(self) -> list[NodeRecord]:
        """The nodes whose heartbeat is fresh (this one once it has beaten), by API address
        and then boot ID, so that every node lists them in the same order."""
        nodes = [node for node in self._all() if self._fresh(node)]
        return sorted(nodes, key=lambda node: (node.api_address, node.boot_id))

    def forget_dead(self) -> None:
        now = self.clock.now()
        for node in self._all():
            if now - node.seen > FORGET_AFTER:
                self._storage.delete(node.boot_id)

    def _fresh(self, node: NodeRecord) -> bool:
        return self.clock.now() - node.seen < self.dead_after

    def _all(self) -> list[NodeRecord]:
        found = (self._read(boot_id) for boot_id in self._storage.list(""))
        return [node for node in found if node is not None]

    def _read(self, boot_id: str) -> NodeRecord | None:
        record = records.get_record(self._storage, boot_id)
        return None if record is None else NodeRecord.from_record(boot_id, record)


def _number(value: JSONValue, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _text(value: JSONValue) -> str:
    return value if isinstance(value, str) else ""
