"""The change count: a number the physical store keeps beside the data, for the core.

The core counts every change to state that nodes keep in memory (the mount table, policies,
audit devices, the keyring), and every request reads the count to learn whether its node's
copy is still current (`core/changes.py`). The read is on every request, so stores make it
one cheap statement, outside the key-value table and its encryption: the number is not
secret, and what it guards is re-read from the encrypted table when it moves.
"""

from __future__ import annotations

from typing import Protocol


class ChangeCount(Protocol):
    def change_count(self) -> int:
        """How many changes have been counted (0 before the first), as of now: a count made
        by any process before this call began is included."""
        ...

    def count_change(self) -> int:
        """Count one change, atomically across every process sharing the store; returns the
        new count."""
        ...
