"""The manager's own gauges read at scrape time."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from ome.runtime.metrics import RuntimeMetrics, running_tasks


def test_asyncio_tasks_outside_a_loop_is_zero() -> None:
    assert running_tasks() == 0


async def test_asyncio_tasks_counts_the_tasks_of_the_running_loop() -> None:
    registry = CollectorRegistry()
    RuntimeMetrics(registry)
    before = registry.get_sample_value("python_asyncio_tasks")
    assert before is not None
    assert before >= 1  # this test's own task
    waiting = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(5)]
    try:
        assert registry.get_sample_value("python_asyncio_tasks") == before + 5
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert registry.get_sample_value("python_asyncio_tasks") == before
