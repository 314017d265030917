"""Longest-prefix routing from a logical path to the mount that serves it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from awsbroker.core.mounts import MountEntry
from awsbroker.sdk.framework import Backend


@dataclass(frozen=True)
class Route:
    entry: MountEntry
    backend: Backend

    @property
    def mount_path(self) -> str:
        return self.entry.path


class Router:
    """Maps mount paths (ending in '/') to backends. Reads are lock-free snapshots."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()

    def mount(self, entry: MountEntry, backend: Backend) -> None:
        with self._lock:
            routes = dict(self._routes)
            routes[entry.path] = Route(entry, backend)
            self._routes = routes

    def unmount(self, path: str) -> None:
        with self._lock:
            routes = dict(self._routes)
            routes.pop(path, None)
            self._routes = routes

    def clear(self) -> None:
        with self._lock:
            self._routes = {}

    def get(self, mount_path: str) -> Route | None:
        """The route of exactly this mount path."""
        return self._routes.get(mount_path)

    def match(self, path: str) -> Route | None:
        """The route whose mount path is the longest prefix of `path` (or `path` + '/')."""
        routes = self._routes
        candidate = path if path.endswith("/") else path + "/"
        while True:
            route = routes.get(candidate)
            if route is not None:
                return route
            cut = candidate.rstrip("/").rfind("/")
            if cut < 0:
                return None
            candidate = candidate[: cut + 1]

    def routes(self) -> list[Route]:
        return list(self._routes.values())
