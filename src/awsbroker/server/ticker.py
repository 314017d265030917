"""The background threads: one drives the core's time-based work (lease expiry, rollbacks,
the mounts' periodic jobs), one writes this node's heartbeat. Apart, because a tick can take
longer than `node_dead_after` (a periodic job waiting on slow AWS calls), and a heartbeat
missed that long makes the other nodes take this live one for dead."""

from __future__ import annotations

import logging
import threading

from awsbroker.core.core import Core
from awsbroker.sdk.errors import Sealed, StorageUnavailable
from awsbroker.sdk.thread_name import name_os_thread

log = logging.getLogger("awsbroker.server.ticker")


class Ticker:
    def __init__(self, core: Core, interval: float = 1.0) -> None:
        self._core = core
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="awsbroker-ticker", daemon=True)
        self._beating = threading.Thread(target=self._beat, name="awsbroker-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._beating.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._beating):
            if thread.is_alive():
                thread.join(timeout=30)

    def _beat(self) -> None:
        name_os_thread(threading.current_thread().name)
        while not self._stop.wait(self._interval):  # `beat` writes only when one is due
            try:
                self._core.beat()
            except (Sealed, StorageUnavailable):
                pass  # sealed: no heartbeat is due; storage down: the ticker says so
            except Exception:
                log.exception("heartbeat failed; retrying")

    def _run(self) -> None:
        name_os_thread(threading.current_thread().name)
        while not self._stop.wait(self._interval):
            try:
                # Keep going while there is a backlog; rest a tick when there is none.
                while self._core.tick(wait=False) and not self._stop.is_set():
                    pass
            except Sealed:
                # Sealed while the tick ran (an operator's seal, or `initialize`, which unseals
                # to write the root token and seals again): nothing is due until the unseal.
                log.debug("background tick: sealed while it ran")
            except StorageUnavailable as exc:  # expected while the database is down
                log.warning("background tick: %s; retrying next tick", exc)
            except Exception:
                log.exception("background tick failed; retrying next tick")
