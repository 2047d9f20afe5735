"""What a work queue reports, and the interface through which it reports it.

A queue built with ``metrics=None`` records nothing and touches no registry. A queue
given a :class:`MetricsProvider` asks it once, at construction, for the metrics of its
name; :class:`ome.workqueue.PrometheusMetricsProvider` is the provider the operator uses.
The names and meanings follow controller-runtime's workqueue metrics:

    depth                              keys waiting or due to re-run, by priority
    adds_total                         adds that made a key newly pending
    queue_duration_seconds             from such an add until a worker took the key
    work_duration_seconds              from get() until done()
    unfinished_work_seconds            summed age of the keys being processed now
    longest_running_processor_seconds  age of the oldest key being processed now
    retries_total                      add_after calls with a non-zero delay

The two gauges of work in progress are computed when collected rather than pushed by a
ticker, so a queue needs no background task to keep them current.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

from ome.workqueue.clock import Clock


class CounterMetric(Protocol):
    def inc(self) -> None: ...


class HistogramMetric(Protocol):
    def observe(self, amount: float) -> None: ...


class DepthMetric(Protocol):
    def inc(self, priority: int) -> None: ...

    def dec(self, priority: int) -> None: ...


class MetricsProvider(Protocol):
    def depth(self, name: str) -> DepthMetric: ...

    def adds(self, name: str) -> CounterMetric: ...

    def queue_duration(self, name: str) -> HistogramMetric: ...

    def work_duration(self, name: str) -> HistogramMetric: ...

    def retries(self, name: str) -> CounterMetric: ...

    def unfinished_work_seconds(self, name: str, read: Callable[[], float]) -> None:
        """Publish ``read()`` as the gauge's value whenever it is collected."""

    def longest_running_processor_seconds(self, name: str, read: Callable[[], float]) -> None:
        """Publish ``read()`` as the gauge's value whenever it is collected."""


class QueueMetrics:
    """The metrics of one named queue, fed by the queue's state changes.

    State:
        _added_at    key -> when it became pending; removed when a worker takes it
        _started_at  key -> when a worker took it; removed at done()
    """

    def __init__(self, provider: MetricsProvider, name: str, clock: Clock) -> None:
        self._clock = clock
        self._depth = provider.depth(name)
        self._adds = provider.adds(name)
        self._queue_duration = provider.queue_duration(name)
        self._work_duration = provider.work_duration(name)
        self._retries = provider.retries(name)
        self._added_at: dict[Hashable, float] = {}
        self._started_at: dict[Hashable, float] = {}
        provider.unfinished_work_seconds(name, self._unfinished_work)
        provider.longest_running_processor_seconds(name, self._longest_running)

    def added(self, key: Hashable, priority: int) -> None:
        self._depth.inc(priority)
        self._adds.inc()
        self._added_at.setdefault(key, self._clock.now())

    def reprioritised(self, old: int, new: int) -> None:
        self._depth.dec(old)
        self._depth.inc(new)

    def taken(self, key: Hashable, priority: int) -> None:
        now = self._clock.now()
        self._depth.dec(priority)
        self._queue_duration.observe(now - self._added_at.pop(key))
        self._started_at[key] = now

    def done(self, key: Hashable) -> None:
        self._work_duration.observe(self._clock.now() - self._started_at.pop(key))

    def retried(self) -> None:
        self._retries.inc()

    def _unfinished_work(self) -> float:
        now = self._clock.now()
        return sum(now - started for started in self._started_at.values())

    def _longest_running(self) -> float:
        now = self._clock.now()
        return now - min(self._started_at.values(), default=now)
