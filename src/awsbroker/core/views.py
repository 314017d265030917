"""This node's in-memory views of stored state, and how they stay current on every node.

The views are the mount table and the auth table (auth methods), the backend built for each
mount (in the router), the audit
devices, parsed policies and compiled ACLs, and the barrier's keyring. `sync` runs before every
request and background tick: when the change count (`changes.py`) moved since the views were
loaded, it loads them all again. Loading keeps what did not change: a mount whose uuid is the
same keeps its backend (and whatever the backend holds), an audit device whose entry is the
same stays open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from awsbroker.barrier.aes_gcm import AESGCMBarrier
from awsbroker.core.audit_table import AuditTable
from awsbroker.core.changes import ChangeCounter
from awsbroker.core.mounts import MountEntry, MountTable
from awsbroker.core.policy_store import PolicyStore
from awsbroker.core.router import Router
from awsbroker.sdk.framework import Backend

log = logging.getLogger("awsbroker.core")
# Mount types the core mounts itself, never from the table; its own backends, which see the
# request's token.
BUILT_IN = ("system", "token", "cubbyhole")


class Views:
    def __init__(
        self,
        *,
        changes: ChangeCounter,
        barrier: AESGCMBarrier,
        policies: PolicyStore,
        audit: AuditTable,
        mounts: MountTable,
        auth: MountTable,
        router: Router,
        make_backend: Callable[[MountEntry], Backend],
    ) -> None:
        self.changes = changes
        self._barrier = barrier
        self._policies = policies
        self._audit = audit
        self._mounts = mounts
        self._auth = auth
        self._router = router
        self._make_backend = make_backend
        self._synced = -1  # the change count the views were loaded at (-1: not loaded)
        self._lock = threading.Lock()

    def sync(self) -> None:
        """Load the views again if any changed in storage, on any node, since they were
        loaded. One read of the change count when nothing changed."""
        count = self.changes.read()
        if count == self._synced:
            return
        with self._lock:
            if count != self._synced:
                self._load()
                self._synced = count

    def changed(self) -> None:
        """Count a change just stored, and bring the views up to it."""
        self.changes.bump()
        self.sync()

    def reload(self, *, unless: Callable[[], bool]) -> None:
        """Load every view again whatever the count says (a node that stored a change and died
        before counting it leaves it uncounted), unless `unless()` holds by then."""
        with self._lock:
            if not unless():
                self._load()

    def drop(self, clear: Callable[[], None]) -> None:
        """Forget the views (sealing): `clear` runs under the lock, and the next `sync` loads."""
        with self._lock:
            clear()
            self._mounts.entries = {}
            self._auth.entries = {}
            self._synced = -1

    def _load(self) -> None:
        self._barrier.reload_keyring()
        self._policies.forget()
        self._audit.load()
        self._mounts.load()
        self._auth.load()
        self._route_mounts()

    def _route_mounts(self) -> None:
        # The built-in token method's entry (in the auth table once tuned) is never routed here.
        entries = {**self._mounts.entries, **self._auth.entries}
        for route in self._router.routes():
            if route.entry.type in BUILT_IN:
                continue
            entry = entries.get(route.mount_path)
            if entry is None or entry.uuid != route.entry.uuid:
                self._router.unmount(route.mount_path)
        for entry in entries.values():
            if entry.type in BUILT_IN:
                continue
            current = self._router.get(entry.path)
            if current is not None and current.entry.uuid == entry.uuid:
                if current.entry != entry:
                    self._router.mount(entry, current.backend)  # tuned: same backend
                continue
            try:
                self._router.mount(entry, self._make_backend(entry))
            except Exception:
                # One mount this node cannot build (an engine its build lacks) must not take
                # the others down with it: it answers 404 here, and says why in the log.
                log.exception("cannot mount %s (type %s) on this node", entry.path, entry.type)
