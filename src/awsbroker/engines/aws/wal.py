"""Write-ahead entries: the intent to create an IAM user, recorded before the first AWS call.

An entry outlives its request only when the request failed or the process died; the periodic
rollback then deletes the half-made user and the entry. An entry younger than `MIN_AGE` is left
alone while the process that wrote it is alive, since its request may still be running; one
left by a dead process (after a crash) is rolled back at the first run after the next start.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING

from awsbroker.sdk.errors import BrokerError, InternalError, StorageUnavailable

if TYPE_CHECKING:
    from awsbroker.engines.aws.backend import AWSBackend

log = logging.getLogger("awsbroker.engines.aws.wal")
PREFIX = "wal/"
MIN_AGE = 5 * 60
KIND_USER = "user"


def put_user(backend: AWSBackend, username: str, lease_id: str = "") -> str:
    """Record the intent to create `username`, whose lease will be `lease_id` if it is stored."""
    wal_id = str(uuid.uuid4())
    entry = {
        "type": KIND_USER,
        "data": {"UserName": username},
        "created_at": int(backend.system.clock.now()),
        "boot": backend.system.boot_id,
        "lease_id": lease_id,
    }
    try:
        backend.storage.put(PREFIX + wal_id, json.dumps(entry).encode())
    except BrokerError as exc:
        # Vault's message; the class stays "unavailable" when it was, so the caller is told
        # to retry rather than that something is broken.
        kind = StorageUnavailable if isinstance(exc, StorageUnavailable) else InternalError
        raise kind(f"error writing WAL entry: {'; '.join(exc.messages)}") from exc
    return wal_id


def delete(backend: AWSBackend, wal_id: str) -> None:
    backend.storage.delete(PREFIX + wal_id)


def pending(backend: AWSBackend) -> list[str]:
    return [k for k in backend.storage.list(PREFIX) if not k.endswith("/")]
