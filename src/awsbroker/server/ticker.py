"""The background thread that drives the core's time-based work (lease expiry, rollbacks)."""

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

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        name_os_thread("awsbroker-ticker")
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
