"""add_rate_limited, forget and num_requeues on a queue with a fake clock."""

from __future__ import annotations

import pytest

from ome.workqueue import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    RateLimitingQueue,
)
from tests.unit.workqueue.helpers import take_all


def rate_limited(clock: FakeClock) -> RateLimitingQueue[str]:
    return RateLimitingQueue(ItemExponentialFailureRateLimiter(1.0, 60.0), clock=clock)


async def test_a_failed_key_comes_back_after_its_backoff() -> None:
    clock = FakeClock()
    queue = rate_limited(clock)
    queue.add_rate_limited("a")
    clock.step(0.999)
    assert len(queue) == 0
    clock.step(0.001)
    assert await take_all(queue) == ["a"]
    queue.add_rate_limited("a")
    clock.step(1.0)
    assert len(queue) == 0, "the second failure waits 2 s"
    clock.step(1.0)
    assert await take_all(queue) == ["a"]
    assert queue.num_requeues("a") == 2


async def test_forget_resets_the_backoff() -> None:
    clock = FakeClock()
    queue = rate_limited(clock)
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    clock.step(1.0)
    assert await take_all(queue) == ["a"], "the earliest deadline (1 s) still stands"


async def test_a_rate_limited_key_keeps_its_priority() -> None:
    clock = FakeClock()
    queue = rate_limited(clock)
    queue.add_rate_limited("low", priority=-100)
    queue.add_rate_limited("high", priority=10)
    clock.step(1.0)
    assert await take_all(queue) == ["high", "low"]


async def test_without_a_limiter_the_default_runs_on_the_queue_clock() -> None:
    clock = FakeClock()
    queue: RateLimitingQueue[str] = RateLimitingQueue(clock=clock)
    queue.add_rate_limited("a")
    clock.step(0.005)
    assert await take_all(queue) == ["a"]


async def test_after_shutdown_a_failure_is_neither_queued_nor_counted() -> None:
    clock = FakeClock()
    queue = rate_limited(clock)
    queue.shut_down()
    queue.add_rate_limited("a")
    assert queue.num_requeues("a") == 0
    assert clock.pending_timers == 0


async def test_an_unhashable_key_is_refused_before_the_limiter_sees_it() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(1.0, 1, clock=clock)
    queue: RateLimitingQueue[str] = RateLimitingQueue(bucket, clock=clock)
    with pytest.raises(TypeError, match="hashable"):
        queue.add_rate_limited(["a"])  # type: ignore[arg-type]
    assert bucket.when("b") == 0.0, "the refused key took no token"


async def test_a_limiter_asking_for_a_negative_delay_is_refused() -> None:
    class Broken:
        def when(self, key: object) -> float:
            return -1.0

        def forget(self, key: object) -> None:
            pass

        def num_requeues(self, key: object) -> int:
            return 0

    queue: RateLimitingQueue[str] = RateLimitingQueue(Broken(), clock=FakeClock())
    with pytest.raises(ValueError, match="delay"):
        queue.add_rate_limited("a")
