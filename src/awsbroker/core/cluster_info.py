"""The cluster's identity: a random UUID made when the storage is initialised and kept behind
the barrier, so every node sharing the storage reports the same `cluster_id` and two separately
initialised clusters differ (Vault keeps its id at the same path).

Storage written before the id existed gets one at its first unseal: `update` writes it only if
there is still none, so nodes unsealing at once all end up with the first writer's.
"""

from __future__ import annotations

import uuid

from awsbroker.sdk.records import dump, load
from awsbroker.sdk.storage import Storage, update

CLUSTER_INFO_KEY = "core/cluster/local/info"


def cluster_id(storage: Storage) -> str:
    """The stored cluster id, made now if there is none."""

    def ensure(current: bytes | None) -> bytes:
        if current is not None and _id(current):
            return current
        return dump({"id": str(uuid.uuid4())})

    blob = update(storage, CLUSTER_INFO_KEY, ensure)
    return _id(blob or b"")


def _id(blob: bytes) -> str:
    value = load(blob).get("id") if blob else None
    return value if isinstance(value, str) else ""
