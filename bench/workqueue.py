"""Work queue micro-benchmarks, each against a baseline measured in the same run.

    throughput  add -> get -> done with 1 and 8 workers, against an asyncio.Queue consumer
                (put_nowait -> get -> task_done); target: ratio >= 0.5
    dedup       100k adds over 10k distinct keys, then 8 workers drain the queue; the
                queue must run each distinct key once (ratio runs / distinct keys = 1.0)
                and never one key in two workers, where asyncio.Queue runs every add
    timers      10k keys pending in add_after; lateness of their arrival at a waiting
                worker (target p99 <= 5 ms) and memory per pending key (target <= 300 B),
                against one loop.call_later timer per key feeding an asyncio.Queue

Prints one JSON object per line per case.

    .venv/bin/python bench/workqueue.py
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from ome.workqueue import DelayingQueue, Queue

THROUGHPUT_ITEMS = 200_000
BATCH = 100  # keys added between yields to the loop, as an informer delivering a burst
REPEATS = 3
DEDUP_ADDS = 100_000
DEDUP_KEYS = 10_000
TIMERS = 10_000
TIMER_SPREAD = (0.2, 1.2)  # seconds: delays drawn uniformly from this range

Stop = Callable[[], None]


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def best_of(run: Callable[[], Awaitable[float]]) -> float:
    """Shortest of REPEATS runs, in seconds: the least disturbed by the machine's noise."""
    return min([await run() for _ in range(REPEATS)])


async def work_queue_cycles(workers: int) -> float:
    queue: Queue[int] = Queue()

    async def worker() -> None:
        while True:
            key, _ = await queue.get()
            if key is None:
                return
            queue.done(key)

    async def produce() -> None:
        for start in range(0, THROUGHPUT_ITEMS, BATCH):
            for key in range(start, start + BATCH):
                queue.add(key)
            await asyncio.sleep(0)
        await queue.shut_down_with_drain()

    started = time.perf_counter()
    await asyncio.gather(produce(), *[worker() for _ in range(workers)])
    return time.perf_counter() - started


async def asyncio_queue_cycles(workers: int) -> float:
    queue: asyncio.Queue[int | None] = asyncio.Queue()

    async def worker() -> None:
        while await queue.get() is not None:
            queue.task_done()

    async def produce() -> None:
        for start in range(0, THROUGHPUT_ITEMS, BATCH):
            for key in range(start, start + BATCH):
                queue.put_nowait(key)
            await asyncio.sleep(0)
        await queue.join()
        for _ in range(workers):
            queue.put_nowait(None)

    started = time.perf_counter()
    await asyncio.gather(produce(), *[worker() for _ in range(workers)])
    return time.perf_counter() - started


async def throughput(workers: int) -> None:
    ours = await best_of(lambda: work_queue_cycles(workers))
    baseline = await best_of(lambda: asyncio_queue_cycles(workers))
    emit(
        case="throughput",
        workers=workers,
        items=THROUGHPUT_ITEMS,
        items_per_s=round(THROUGHPUT_ITEMS / ours),
        baseline="asyncio.Queue",
        baseline_items_per_s=round(THROUGHPUT_ITEMS / baseline),
        ratio=round(baseline / ours, 3),
        target="ratio >= 0.5",
        met=baseline / ours >= 0.5,
    )


async def dedup_work_queue(keys: list[int]) -> tuple[int, int, float]:
    """Runs, runs that found their key already running, and seconds."""
    queue: Queue[int] = Queue()
    runs = shared = 0
    in_flight: set[int] = set()

    async def worker() -> None:
        nonlocal runs, shared
        while True:
            key, _ = await queue.get()
            if key is None:
                return
            shared += key in in_flight
            in_flight.add(key)
            runs += 1
            await asyncio.sleep(0)  # a reconcile: other workers run meanwhile
            in_flight.discard(key)
            queue.done(key)

    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(8)]
    for key in keys:
        queue.add(key)
    await queue.shut_down_with_drain()
    await asyncio.gather(*workers)
    return runs, shared, time.perf_counter() - started


async def dedup_asyncio_queue(keys: list[int]) -> tuple[int, float]:
    """Runs and seconds."""
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    runs = 0

    async def worker() -> None:
        nonlocal runs
        while await queue.get() is not None:
            runs += 1
            await asyncio.sleep(0)
            queue.task_done()

    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(8)]
    for key in keys:
        queue.put_nowait(key)
    await queue.join()
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return runs, time.perf_counter() - started


async def dedup() -> None:
    keys = [i % DEDUP_KEYS for i in range(DEDUP_ADDS)]
    random.Random(1).shuffle(keys)
    runs, shared, seconds = await dedup_work_queue(keys)
    baseline_runs, baseline_seconds = await dedup_asyncio_queue(keys)
    emit(
        case="dedup",
        adds=DEDUP_ADDS,
        distinct_keys=DEDUP_KEYS,
        workers=8,
        runs=runs,
        keys_run_by_two_workers_at_once=shared,
        seconds=round(seconds, 3),
        baseline="asyncio.Queue",
        baseline_runs=baseline_runs,
        baseline_seconds=round(baseline_seconds, 3),
        ratio=round(runs / DEDUP_KEYS, 3),
        target="runs == distinct_keys (ratio 1.0), no key run by two workers at once",
        met=runs == DEDUP_KEYS and shared == 0,
    )


def percentile(samples: list[float], fraction: float) -> float:
    return statistics.quantiles(samples, n=1000, method="inclusive")[round(fraction * 1000) - 1]


async def work_queue_timers(delays: list[float]) -> list[float]:
    queue: DelayingQueue[int] = DelayingQueue()
    deadlines = {}
    for key, delay in enumerate(delays):
        deadlines[key] = time.monotonic() + delay
        queue.add_after(key, delay)
    lateness = []
    for _ in delays:
        taken, _ = await queue.get()
        assert taken is not None
        lateness.append(time.monotonic() - deadlines[taken])
        queue.done(taken)
    queue.shut_down()
    return lateness


async def call_later_timers(delays: list[float]) -> list[float]:
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[int] = asyncio.Queue()
    deadlines = {}
    for key, delay in enumerate(delays):
        deadlines[key] = time.monotonic() + delay
        loop.call_later(delay, arrived.put_nowait, key)
    lateness = []
    for _ in delays:
        key = await arrived.get()
        lateness.append(time.monotonic() - deadlines[key])
    return lateness


def bytes_per_pending_key(schedule: Callable[[list[str], list[float]], Stop]) -> float:
    """Memory the pending keys add, beyond the keys and delays themselves."""
    keys = [f"namespace/object-{i}" for i in range(TIMERS)]
    delays = [60.0 + i / TIMERS for i in range(TIMERS)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    stop = schedule(keys, delays)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    stop()
    return used / TIMERS


def pending_in_work_queue(keys: list[str], delays: list[float]) -> Stop:
    queue: DelayingQueue[str] = DelayingQueue()
    for key, delay in zip(keys, delays, strict=True):
        queue.add_after(key, delay)
    return queue.shut_down


def pending_in_loop_timers(keys: list[str], delays: list[float]) -> Stop:
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[str] = asyncio.Queue()
    handles = [
        loop.call_later(delay, arrived.put_nowait, key)
        for key, delay in zip(keys, delays, strict=True)
    ]

    def stop() -> None:
        for handle in handles:
            handle.cancel()

    return stop


async def timers() -> None:
    rng = random.Random(2)
    delays = [rng.uniform(*TIMER_SPREAD) for _ in range(TIMERS)]
    ours = await work_queue_timers(delays)
    baseline = await call_later_timers(delays)
    ours_bytes = bytes_per_pending_key(pending_in_work_queue)
    baseline_bytes = bytes_per_pending_key(pending_in_loop_timers)
    p99, baseline_p99 = percentile(ours, 0.99), percentile(baseline, 0.99)
    emit(
        case="timers",
        pending=TIMERS,
        p50_late_ms=round(statistics.median(ours) * 1000, 3),
        p99_late_ms=round(p99 * 1000, 3),
        max_late_ms=round(max(ours) * 1000, 3),
        bytes_per_pending_key=round(ours_bytes),
        baseline="loop.call_later per key",
        baseline_p99_late_ms=round(baseline_p99 * 1000, 3),
        baseline_bytes_per_pending_key=round(baseline_bytes),
        ratio_p99=round(p99 / baseline_p99, 3),
        ratio_bytes=round(ours_bytes / baseline_bytes, 3),
        target="p99_late_ms <= 5 and bytes_per_pending_key <= 300",
        met=p99 <= 0.005 and ours_bytes <= 300,
    )


async def main() -> None:
    for workers in (1, 8):
        await throughput(workers)
    await dedup()
    await timers()


if __name__ == "__main__":
    asyncio.run(main())
