"""`sys/leader`, `sys/ha-status` and `sys/step-down`: the nodes sharing this storage.

Every node serves every request: none is a standby that forwards, so each answers as the
active node (`is_self`, `active_node`). `sys/leader` is unauthenticated and answers while
sealed, with a raw body; `sys/ha-status` needs a token that may read it, as in Vault, and
lists the live nodes from their heartbeats (nodes.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsbroker.core.nodes import NodeRecord
from awsbroker.sdk.clock import rfc3339
from awsbroker.sdk.fields import FieldData
from awsbroker.sdk.framework import Path
from awsbroker.sdk.logical import JSONObject, JSONValue, Operation, Request, Response

if TYPE_CHECKING:
    from awsbroker.core.system.backend import SystemBackend

R, U = Operation.READ, Operation.UPDATE
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, Vault's "never"
# Storage that several processes can share; each is then a node of one cluster.
SHARED_STORAGE = frozenset({"sqlite", "postgresql"})


def paths() -> list[Path[SystemBackend]]:
    return [
        Path("leader", {R: leader}, summary="High-availability leader: every node is one"),
        Path("ha-status", {R: ha_status}, summary="The live nodes sharing this storage"),
        Path("step-down", {U: step_down}, summary="Give up leadership (no-op: none to give)"),
    ]


def leader(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    core = b.core
    active = not core.sealed
    return Response(
        raw={
            "ha_enabled": core.config.storage_type in SHARED_STORAGE,
            "is_self": active,
            "active_time": rfc3339(core.nodes.active_since) if active else ZERO_TIME,
            "leader_address": core.nodes.api_address if active else "",
            "leader_cluster_address": core.nodes.cluster_address if active else "",
            "performance_standby": False,
            "performance_standby_last_remote_wal": 0,
        }
    )


def ha_status(b: SystemBackend, req: Request, fd: FieldData) -> Response:
    nodes: list[JSONValue] = [_node(node) for node in b.core.nodes.live()]
    return Response(data={"nodes": nodes}, inject_top_level=True)


def _node(node: NodeRecord) -> JSONObject:
    return {
        "hostname": node.hostname,
        "api_address": node.api_address,
        "cluster_address": node.cluster_address,
        "active_node": True,
        "last_echo": rfc3339(node.seen),
        "version": node.version,
    }


def step_down(b: SystemBackend, req: Request, fd: FieldData) -> None:
    return None
