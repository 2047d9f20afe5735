"""Work queue metrics for Prometheus, under controller-runtime's names and labels
(``name`` and ``controller`` both carry the queue's name; ``workqueue_depth`` also has
``priority``), so existing dashboards and alerts work unchanged.

They go into the registry the caller passes, or a fresh one of their own: never
prometheus_client's global registry.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ome.workqueue.metrics import CounterMetric, DepthMetric, HistogramMetric

# 10 ns to 1000 s, ten times wider per bucket, as controller-runtime has them.
DURATION_BUCKETS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3)
# Past this many distinct priorities a queue's depth is reported under one overflow label,
# so a caller passing arbitrary numbers cannot grow the series without bound.
MAX_PRIORITY_LABELS = 25
PRIORITY_OVERFLOW_LABEL = "exceeded_cardinality_limit"
_LABELS = ("name", "controller")


class PrometheusMetricsProvider:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._depth = Gauge(
            "workqueue_depth",
            "Current depth of workqueue",
            [*_LABELS, "priority"],
            registry=self.registry,
        )
        self._adds = Counter(
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            _LABELS,
            registry=self.registry,
        )
        self._queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            _LABELS,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            _LABELS,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._unfinished_work = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads. One can deduce "
            "the number of stuck threads by observing the rate at which this increases.",
            _LABELS,
            registry=self.registry,
        )
        self._longest_running = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            _LABELS,
            registry=self.registry,
        )
        self._retries = Counter(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            _LABELS,
            registry=self.registry,
        )

    def depth(self, name: str) -> DepthMetric:
        return _DepthByPriority(self._depth, name)

    def adds(self, name: str) -> CounterMetric:
        return self._adds.labels(name, name)

    def queue_duration(self, name: str) -> HistogramMetric:
        return self._queue_duration.labels(name, name)

    def work_duration(self, name: str) -> HistogramMetric:
        return self._work_duration.labels(name, name)

    def retries(self, name: str) -> CounterMetric:
        return self._retries.labels(name, name)

    def unfinished_work_seconds(self, name: str, read: Callable[[], float]) -> None:
        self._unfinished_work.labels(name, name).set_function(read)

    def longest_running_processor_seconds(self, name: str, read: Callable[[], float]) -> None:
        self._longest_running.labels(name, name).set_function(read)


class _DepthByPriority:
    """One queue's depth gauges, one per priority label.

    State:
        _labels  priority -> its label value, for the first MAX_PRIORITY_LABELS priorities
                 seen; a priority keeps its label for good, so every dec() meets its inc()
    """

    def __init__(self, family: Gauge, name: str) -> None:
        self._family = family
        self._name = name
        self._labels: dict[int, str] = {}

    def inc(self, priority: int) -> None:
        self._gauge(priority).inc()

    def dec(self, priority: int) -> None:
        self._gauge(priority).dec()

    def _gauge(self, priority: int) -> Gauge:
        label = self._labels.get(priority)
        if label is None:
            if len(self._labels) >= MAX_PRIORITY_LABELS:
                label = PRIORITY_OVERFLOW_LABEL
            else:
                label = self._labels[priority] = str(priority)
        return self._family.labels(self._name, self._name, label)
