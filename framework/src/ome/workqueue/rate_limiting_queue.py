"""A delaying queue that retries failed keys after a rate limiter's delay
(client-go ``rate_limiting_queue.go``)."""

from __future__ import annotations

from ome.workqueue._checks import require_key
from ome.workqueue.clock import Clock
from ome.workqueue.delaying_queue import DelayingQueue
from ome.workqueue.metrics import MetricsProvider
from ome.workqueue.queue import K
from ome.workqueue.rate_limiters import RateLimiter, default_controller_rate_limiter


class RateLimitingQueue(DelayingQueue[K]):
    """The queue a controller uses. Without a ``rate_limiter`` it uses
    :func:`default_controller_rate_limiter`, on the queue's clock."""

    def __init__(
        self,
        rate_limiter: RateLimiter | None = None,
        *,
        name: str = "",
        clock: Clock | None = None,
        metrics: MetricsProvider | None = None,
    ) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self.rate_limiter = (
            rate_limiter
            if rate_limiter is not None
            else default_controller_rate_limiter(clock=self._clock)
        )

    def add_rate_limited(self, key: K, priority: int = 0) -> None:
        """Add ``key`` after the delay its rate limiter gives for one more failure."""
        require_key(key)
        if self._shutting_down:
            return
        self.add_after(key, self.rate_limiter.when(key), priority)

    def forget(self, key: K) -> None:
        """Clear the failures of ``key``; the caller still owes ``done(key)``."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)
