"""The worker threads that run the core for the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading

import pytest

from awsbroker.http.workers import WorkerThreads

WHO = contextvars.ContextVar("who", default="nobody")


def test_results_errors_and_context_variables_reach_the_caller() -> None:
    workers: WorkerThreads[int, str] = WorkerThreads(4, "t")

    def call(n: int) -> str:
        if n < 0:
            raise ValueError("negative")
        return f"{WHO.get()}:{n}:{threading.current_thread().name}"

    async def main() -> None:
        WHO.set("request-1")
        assert (await workers.run(call, 7)).startswith("request-1:7:t-")
        with pytest.raises(ValueError, match="negative"):
            await workers.run(call, -1)

    asyncio.run(main())
    workers.close()


def test_threads_start_on_demand_up_to_the_limit_and_the_rest_queue() -> None:
    workers: WorkerThreads[int, int] = WorkerThreads(3, "t")
    release = threading.Event()
    running = threading.Semaphore(0)

    def call(n: int) -> int:
        running.release()
        assert release.wait(10)
        return n * 2

    async def main() -> list[int]:
        tasks = [asyncio.ensure_future(workers.run(call, n)) for n in range(8)]
        for _ in range(3):  # three run at once; the other five wait in the queue
            await asyncio.to_thread(running.acquire, True, 10)
        assert workers.threads == 3
        assert not running.acquire(timeout=0.05)
        release.set()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [n * 2 for n in range(8)]
    assert workers.threads == 3
    workers.close()
    assert workers.threads == 0


def test_an_idle_thread_is_reused_rather_than_a_new_one_started() -> None:
    workers: WorkerThreads[int, int] = WorkerThreads(8, "t")

    async def main() -> None:
        for n in range(20):
            assert await workers.run(lambda x: x + 1, n) == n + 1

    asyncio.run(main())
    assert workers.threads == 1
    workers.close()


def test_a_caller_that_stops_waiting_leaves_the_workers_working() -> None:
    workers: WorkerThreads[int, int] = WorkerThreads(1, "t")
    started, release = threading.Event(), threading.Event()
    finished: list[int] = []

    def slow(n: int) -> int:
        started.set()
        assert release.wait(10)
        finished.append(n)
        return n

    async def main() -> int:
        waiting = asyncio.ensure_future(workers.run(slow, 1))
        await asyncio.to_thread(started.wait, 10)
        waiting.cancel()  # the client went away
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await workers.run(lambda x: x, 2)  # the one thread is free again

    assert asyncio.run(main()) == 2
    assert finished == [1]
    workers.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl: Linux")
def test_a_worker_carries_its_name_as_its_os_thread_name() -> None:
    """`/proc/<pid>/task/<tid>/comm` names the worker (15 bytes), as the benchmark's breakdown
    of the server's CPU by thread reads it."""
    workers: WorkerThreads[int, str] = WorkerThreads(1, "awsbroker-request")

    def comm(_: int) -> str:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm") as f:
            return f.read().strip()

    assert asyncio.run(workers.run(comm, 0)) == "awsbroker-reque"
    workers.close()
