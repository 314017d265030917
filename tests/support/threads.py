"""Run work in several threads at once, for the tests of races."""

from __future__ import annotations

import threading
from collections.abc import Callable

JOIN_TIMEOUT = 120.0


def run_together(count: int, work: Callable[[int], object]) -> None:
    """Run `work(0)` ... `work(count - 1)`, each in a thread of its own, released together by a
    barrier so that they overlap; wait for all, then raise the first error any of them raised
    (in the calling thread, where pytest sees it)."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "threads still running"
    if errors:
        raise errors[0]
