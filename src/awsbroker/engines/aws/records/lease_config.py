"""The `config/lease` record: the lease TTL and max TTL of `iam_user` credentials, and the
name of the engine's one secret type."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

STORAGE_KEY = "config/lease"
# The secret type of every credential the engine issues (Vault's `access_keys`).
SECRET_ACCESS_KEYS = "access_keys"  # noqa: S105 - a secret type name
_NS = 1_000_000_000


@dataclass(frozen=True)
class LeaseConfig:
    lease: int
    lease_max: int

    def to_record(self) -> bytes:
        # Vault's layout: capitalised keys, nanoseconds.
        return json.dumps({"Lease": self.lease * _NS, "LeaseMax": self.lease_max * _NS}).encode()

    @classmethod
    def from_record(cls, blob: bytes) -> LeaseConfig:
        raw = json.loads(blob)
        return cls(int(raw["Lease"]) // _NS, int(raw["LeaseMax"]) // _NS)


def load(backend: AWSBackend) -> LeaseConfig | None:
    blob = backend.storage.get(STORAGE_KEY)
    return None if blob is None else LeaseConfig.from_record(blob)
