"""Shared by the work queue tests: taking keys, letting tasks run, recording metrics."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from ome.workqueue import Queue


async def take(queue: Queue[str]) -> str:
    key, shutdown = await queue.get()
    assert not shutdown
    assert key is not None
    return key


async def take_all(queue: Queue[str]) -> list[str]:
    """Take and finish every waiting key, in the order the queue hands them out."""
    order = []
    while len(queue):
        key = await take(queue)
        queue.done(key)
        order.append(key)
    return order


async def settle() -> None:
    """Let every task that can run do so."""
    for _ in range(5):
        await asyncio.sleep(0)


class _Count:
    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1


class _Depth:
    def __init__(self) -> None:
        self.by_priority: Counter[int] = Counter()

    def inc(self, priority: int) -> None:
        self.by_priority[priority] += 1

    def dec(self, priority: int) -> None:
        self.by_priority[priority] -= 1


class _Observations:
    def __init__(self) -> None:
        self.values: list[float] = []

    def observe(self, amount: float) -> None:
        self.values.append(amount)


class RecordingProvider:
    """A metrics provider for one queue that keeps what it is told, for assertions."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.depth_metric = _Depth()
        self.adds_metric = _Count()
        self.retries_metric = _Count()
        self.queue_durations = _Observations()
        self.work_durations = _Observations()
        self.readers: dict[str, Callable[[], float]] = {}

    def depth(self, name: str) -> _Depth:
        self.names.append(name)
        return self.depth_metric

    def adds(self, name: str) -> _Count:
        return self.adds_metric

    def queue_duration(self, name: str) -> _Observations:
        return self.queue_durations

    def work_duration(self, name: str) -> _Observations:
        return self.work_durations

    def retries(self, name: str) -> _Count:
        return self.retries_metric

    def unfinished_work_seconds(self, name: str, read: Callable[[], float]) -> None:
        self.readers["unfinished"] = read

    def longest_running_processor_seconds(self, name: str, read: Callable[[], float]) -> None:
        self.readers["longest"] = read
