"""In-memory storage: a dict behind a lock. Gone when the process exits."""

from __future__ import annotations

import threading

from awsbroker.sdk.storage import children


class InmemStorage:
    """Thread-safe dict-backed `Storage` for tests and `-dev` servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: bytes) -> None:
        value = bytes(value)
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def list(self, prefix: str) -> list[str]:
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
        return children(keys, prefix)
