"""The change counter: how a node knows that its in-memory views of stored state are current.

A node keeps a few views of stored state in memory because reading them on every request would
cost more than the request: the mount table and the backends built from it, the audit devices,
parsed policies and compiled ACLs, and the barrier's keyring. Every change to one of them, made
on any node, is written to storage first and then counted: the physical store keeps a number
(`sdk/changes.py`) that each change increments, atomically, after its write and before it is
answered.

Every request reads the counter before anything else (`Core.sync`). When the number differs
from the one the node's views were loaded at, the node loads them again before serving the
request. A request that starts after a change was answered, on any node, therefore sees the
change: its read of the counter comes after the increment, which came after the change's write.
A notification could only tell a node sooner; this read is what makes it certain.

The number a node records is the one it read *before* loading, so a change that lands while it
loads makes the next request load again; a recorded number is never newer than the views.
Everything else the core uses (tokens, leases, the seal configuration) is read from storage on
every use and needs no counter.
"""

from __future__ import annotations

import threading

from awsbroker.sdk.changes import ChangeCount
from awsbroker.sdk.errors import BrokerError, InternalError


class ChangeCounter:
    """The physical store's change count, read for many requests at once when they arrive
    together.

    A request needs a read that *began* after it did: one already under way may have missed a
    change answered a moment before the request arrived. Reads go one at a time; a request that
    finds a read begun after it arrived already finished takes its answer (or its error: the
    storage was unreachable for it too) rather than reading again. Under load, one read
    serves every request that queued behind the one before.
    """

    def __init__(self, physical: ChangeCount) -> None:
        self._physical = physical
        self._lock = threading.Lock()
        self._begun = 0  # reads begun so far
        self._finished = 0  # the number of the last read finished (reads are numbered from 1)
        self._value = 0
        self._error: Exception | None = None

    def read(self) -> int:
        arrived = self._begun  # reads numbered above this one began after this request
        with self._lock:
            if self._finished <= arrived:
                self._begun += 1
                number = self._begun
                try:
                    self._value, self._error = self._physical.change_count(), None
                except Exception as exc:
                    self._error = exc
                self._finished = number
            if self._error is not None:
                # Each waiter raises its own copy: one exception object raised in several
                # threads would collect all their tracebacks.
                raise _copy(self._error) from self._error
            return self._value

    def bump(self) -> int:
        """Count one change (already stored). Returns the new count."""
        return self._physical.count_change()


def _copy(error: Exception) -> Exception:
    if isinstance(error, BrokerError):
        return type(error)(*error.messages)
    return InternalError("internal error")
