"""Work queues for controllers, with client-go's semantics and names.

A controller's workers take keys from a :class:`RateLimitingQueue`: a key is never
processed by two workers at once, repeated adds collapse, failed keys come back after a
per-key backoff, and higher-priority keys go first. See :mod:`ome.workqueue.queue` for
the guarantees.

This layer knows nothing of Kubernetes objects or of the rest of ome. The Prometheus
metrics provider is in :mod:`ome.workqueue.prometheus`, imported on its own: importing
prometheus_client registers its process collectors in its global registry.
"""

from ome.workqueue.clock import Clock, FakeClock, MonotonicClock, Timer
from ome.workqueue.delaying_queue import DelayingQueue
from ome.workqueue.metrics import CounterMetric, DepthMetric, HistogramMetric, MetricsProvider
from ome.workqueue.queue import Queue
from ome.workqueue.rate_limiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from ome.workqueue.rate_limiting_queue import RateLimitingQueue

__all__ = [
    "BucketRateLimiter",
    "Clock",
    "CounterMetric",
    "DelayingQueue",
    "DepthMetric",
    "FakeClock",
    "HistogramMetric",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "MetricsProvider",
    "MonotonicClock",
    "Queue",
    "RateLimiter",
    "RateLimitingQueue",
    "Timer",
    "default_controller_rate_limiter",
]
