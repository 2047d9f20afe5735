"""How long a key waits before it is retried (client-go ``default_rate_limiters.go``).

A rate limiter answers three questions: ``when(key)`` records a failure of ``key`` and
returns the seconds to wait before retrying it; ``forget(key)`` clears its failures
(call it when the key succeeds); ``num_requeues(key)`` counts the failures recorded.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Protocol, runtime_checkable

from ome.workqueue._checks import require_count, require_non_negative
from ome.workqueue.clock import Clock, MonotonicClock


@runtime_checkable
class RateLimiter(Protocol):
    def when(self, key: Hashable) -> float: ...

    def forget(self, key: Hashable) -> None: ...

    def num_requeues(self, key: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """Per key: ``base_delay * 2**failures``, capped at ``max_delay``.

    State:
        _failures  key -> failures recorded since it was last forgotten
    """

    def __init__(self, base_delay: float, max_delay: float) -> None:
        require_non_negative("base_delay", base_delay)
        require_non_negative("max_delay", max_delay)
        if base_delay == 0:
            raise ValueError("base_delay must be > 0: a zero delay never grows")
        if max_delay < base_delay:
            raise ValueError(f"max_delay ({max_delay}) must be >= base_delay ({base_delay})")
        self.base_delay = base_delay
        self.max_delay = max_delay
        # From this many failures on the doubling has passed max_delay; answering the cap
        # directly keeps 2**failures from overflowing a float after a long outage.
        self._capped_from = math.ceil(math.log2(max_delay / base_delay))
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if failures >= self._capped_from:
            return self.max_delay
        return min(math.ldexp(self.base_delay, failures), self.max_delay)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)


class ItemFastSlowRateLimiter:
    """Per key: ``fast_delay`` for the first ``max_fast_attempts`` failures, then
    ``slow_delay``.

    State:
        _failures  key -> failures recorded since it was last forgotten
    """

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        require_non_negative("fast_delay", fast_delay)
        require_non_negative("slow_delay", slow_delay)
        require_count("max_fast_attempts", max_fast_attempts, 0)
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        return self.fast_delay if failures <= self.max_fast_attempts else self.slow_delay

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """Overall, whatever the key: a token bucket refilled at ``qps`` per second holding at
    most ``burst`` tokens, full at the start. Each ``when()`` takes a token, borrowing
    against the future when the bucket is empty, and returns how long until that token
    exists. Keys are not tracked, so ``forget`` does nothing and nothing is counted.

    State:
        _tokens      tokens in the bucket at ``_updated_at``; negative when borrowed
        _updated_at  clock reading of the last ``when()``
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock | None = None) -> None:
        require_non_negative("qps", qps)
        if qps == 0:
            raise ValueError("qps must be > 0: a bucket that never refills stalls every retry")
        require_count("burst", burst, 1)
        self.qps = qps
        self.burst = burst
        self._clock: Clock = clock if clock is not None else MonotonicClock()
        self._tokens = float(burst)
        self._updated_at = self._clock.now()

    def when(self, key: Hashable) -> float:
        now = self._clock.now()
        refilled = self._tokens + (now - self._updated_at) * self.qps
        self._tokens = min(float(self.burst), refilled) - 1
        self._updated_at = now
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: Hashable) -> None:
        pass

    def num_requeues(self, key: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest wait any of ``limiters`` asks for. Every limiter records every failure
    (none is skipped because another already asks for longer), and each forgets."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        for limiter in limiters:
            if not isinstance(limiter, RateLimiter):
                raise TypeError(
                    "MaxOfRateLimiter takes rate limiters (when, forget, num_requeues), "
                    f"got {type(limiter).__name__}"
                )
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        return max([limiter.when(key) for limiter in self.limiters])

    def forget(self, key: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter(*, clock: Clock | None = None) -> MaxOfRateLimiter:
    """client-go's controller default: per key 5 ms doubling to 1000 s, and overall no
    more than 10 retries a second after a burst of 100."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )
