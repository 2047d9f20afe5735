"""Queue metrics through the provider interface, and the Prometheus provider."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ome.workqueue import FakeClock, Queue, RateLimitingQueue
from ome.workqueue.prometheus import (
    MAX_PRIORITY_LABELS,
    PRIORITY_OVERFLOW_LABEL,
    PrometheusMetricsProvider,
)
from tests.unit.workqueue.helpers import RecordingProvider, take


def recorded(clock: FakeClock) -> tuple[RateLimitingQueue[str], RecordingProvider]:
    provider = RecordingProvider()
    return RateLimitingQueue(name="things", clock=clock, metrics=provider), provider


class TestWhatAQueueRecords:
    async def test_the_provider_is_asked_for_the_queue_name(self) -> None:
        _, provider = recorded(FakeClock())
        assert provider.names == ["things"]

    async def test_depth_and_adds_count_keys_newly_pending(self) -> None:
        queue, provider = recorded(FakeClock())
        queue.add("a")
        queue.add("a")
        queue.add("b", priority=-100)
        assert provider.adds_metric.value == 2
        assert provider.depth_metric.by_priority == {0: 1, -100: 1}
        await take(queue)
        assert provider.depth_metric.by_priority == {0: 0, -100: 1}

    async def test_depth_follows_a_raised_priority(self) -> None:
        queue, provider = recorded(FakeClock())
        queue.add("a", priority=-100)
        queue.add("a", priority=0)
        assert provider.depth_metric.by_priority == {-100: 0, 0: 1}
        assert provider.adds_metric.value == 1

    async def test_a_key_added_during_processing_counts_once_until_it_reruns(self) -> None:
        queue, provider = recorded(FakeClock())
        queue.add("a")
        key = await take(queue)
        queue.add("a", priority=-1)
        queue.add("a", priority=2)
        assert provider.adds_metric.value == 2
        assert provider.depth_metric.by_priority == {0: 0, -1: 0, 2: 1}
        queue.done(key)
        await take(queue)
        assert provider.depth_metric.by_priority == {0: 0, -1: 0, 2: 0}

    async def test_queue_and_work_durations_are_measured_on_the_queue_clock(self) -> None:
        clock = FakeClock()
        queue, provider = recorded(clock)
        queue.add("a")
        clock.step(2.0)
        key = await take(queue)
        clock.step(3.0)
        queue.done(key)
        assert provider.queue_durations.values == [2.0]
        assert provider.work_durations.values == [3.0]

    async def test_queue_duration_runs_from_the_first_add(self) -> None:
        clock = FakeClock()
        queue, provider = recorded(clock)
        queue.add("a")
        clock.step(1.0)
        queue.add("a")
        clock.step(1.0)
        await take(queue)
        assert provider.queue_durations.values == [2.0]

    async def test_work_in_progress_is_read_when_collected(self) -> None:
        clock = FakeClock()
        queue, provider = recorded(clock)
        unfinished, longest = provider.readers["unfinished"], provider.readers["longest"]
        assert (unfinished(), longest()) == (0.0, 0.0)
        queue.add("a")
        queue.add("b")
        first = await take(queue)
        clock.step(3.0)
        await take(queue)
        clock.step(1.0)
        assert (unfinished(), longest()) == (5.0, 4.0)
        queue.done(first)
        assert (unfinished(), longest()) == (1.0, 1.0)

    async def test_retries_count_delayed_adds_only(self) -> None:
        queue, provider = recorded(FakeClock())
        queue.add_after("a", 1.0)
        queue.add_after("a", 2.0)
        queue.add_after("b", 0)
        queue.add_rate_limited("c")
        assert provider.retries_metric.value == 3

    async def test_a_queue_with_metrics_needs_a_name(self) -> None:
        with pytest.raises(ValueError, match="name"):
            Queue[str](metrics=RecordingProvider())


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


class TestPrometheusProvider:
    async def test_metrics_carry_controller_runtime_names_and_labels(self) -> None:
        registry = CollectorRegistry()
        provider = PrometheusMetricsProvider(registry)
        queue: Queue[str] = Queue(name="isvc", metrics=provider)
        queue.add("a", priority=-100)
        key = await take(queue)
        queue.done(key)
        text = scrape(registry)
        for line in [
            'workqueue_depth{controller="isvc",name="isvc",priority="-100"} 0.0',
            'workqueue_adds_total{controller="isvc",name="isvc"} 1.0',
            'workqueue_queue_duration_seconds_count{controller="isvc",name="isvc"} 1.0',
            'workqueue_work_duration_seconds_count{controller="isvc",name="isvc"} 1.0',
            'workqueue_unfinished_work_seconds{controller="isvc",name="isvc"} 0.0',
            'workqueue_longest_running_processor_seconds{controller="isvc",name="isvc"} 0.0',
            'workqueue_retries_total{controller="isvc",name="isvc"} 0.0',
            'workqueue_work_duration_seconds_bucket{controller="isvc",le="1e-08",name="isvc"}',
            'workqueue_work_duration_seconds_bucket{controller="isvc",le="1000.0",name="isvc"}',
        ]:
            assert line in text

    async def test_without_a_registry_it_keeps_its_own(self) -> None:
        provider = PrometheusMetricsProvider()
        Queue[str](name="solo", metrics=provider).add("a")
        assert 'workqueue_adds_total{controller="solo",name="solo"} 1.0' in scrape(
            provider.registry
        )

    async def test_priority_labels_are_bounded(self) -> None:
        registry = CollectorRegistry()
        queue: Queue[str] = Queue(name="many", metrics=PrometheusMetricsProvider(registry))
        for priority in range(MAX_PRIORITY_LABELS + 5):
            queue.add(f"k{priority}", priority=priority)
        text = scrape(registry)
        assert text.count("workqueue_depth{") == MAX_PRIORITY_LABELS + 1
        assert f'priority="{PRIORITY_OVERFLOW_LABEL}"}} 5.0' in text
        while len(queue):
            queue.done(await take(queue))
        assert "workqueue_depth{" in scrape(registry)
        assert all(
            line.endswith(" 0.0")
            for line in scrape(registry).splitlines()
            if line.startswith("workqueue_depth{")
        )


def test_a_queue_without_metrics_leaves_prometheus_alone() -> None:
    """Importing the package and running a queue neither imports prometheus_client nor
    registers anything in its global registry (checked in a fresh interpreter)."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        from ome.workqueue import RateLimitingQueue

        async def main():
            queue = RateLimitingQueue(name="quiet")
            queue.add("a")
            key, _ = await queue.get()
            queue.done(key)
            queue.shut_down()

        asyncio.run(main())
        assert "prometheus_client" not in sys.modules, "prometheus_client was imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
