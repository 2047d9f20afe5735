"""add_after: deadlines on an injected clock, one timer, nothing left behind at shutdown."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import pytest

from ome.workqueue import DelayingQueue, FakeClock, MonotonicClock, Timer
from tests.unit.workqueue.helpers import settle, take_all


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> DelayingQueue[str]:
    return DelayingQueue(clock=clock)


class TestDeadlines:
    async def test_a_key_arrives_when_its_delay_has_passed(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 2.0)
        clock.step(1.999)
        assert len(queue) == 0
        clock.step(0.001)
        assert await take_all(queue) == ["a"]

    async def test_a_waiting_worker_is_woken_by_a_delayed_key(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        getter = asyncio.create_task(queue.get())
        queue.add_after("a", 1.0)
        await settle()
        assert not getter.done()
        clock.step(1.0)
        assert await getter == ("a", False)

    async def test_keys_arrive_in_deadline_order(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("c", 3.0)
        queue.add_after("a", 1.0)
        queue.add_after("b", 2.0)
        queue.add_after("a2", 1.0)
        clock.step(10.0)
        assert await take_all(queue) == ["a", "a2", "b", "c"]

    async def test_zero_delay_adds_at_once(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 0)
        assert len(queue) == 1
        assert clock.pending_timers == 0

    async def test_a_pending_key_keeps_its_earliest_deadline(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 5.0)
        queue.add_after("a", 1.0)
        queue.add_after("a", 3.0)
        clock.step(1.0)
        assert await take_all(queue) == ["a"]
        clock.step(10.0)
        assert len(queue) == 0, "the superseded deadlines do not fire"

    async def test_a_pending_key_keeps_its_highest_priority(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 1.0, priority=5)
        queue.add_after("a", 2.0, priority=-1)
        queue.add_after("b", 1.0, priority=1)
        clock.step(1.0)
        assert await take_all(queue) == ["a", "b"]

    async def test_a_later_higher_priority_raises_the_pending_key(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 1.0)
        queue.add_after("b", 1.0, priority=1)
        queue.add_after("a", 2.0, priority=2)
        clock.step(1.0)
        assert await take_all(queue) == ["a", "b"], "raised, and still due at 1.0"

    async def test_add_does_not_cancel_a_pending_add_after(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 1.0)
        queue.add("a")
        assert await take_all(queue) == ["a"]
        clock.step(1.0)
        assert await take_all(queue) == ["a"]

    async def test_a_due_key_already_waiting_is_not_queued_twice(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add("a")
        queue.add_after("a", 1.0)
        clock.step(1.0)
        assert await take_all(queue) == ["a"]


class TestOneTimer:
    async def test_many_pending_keys_share_one_timer(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        for i in range(1000):
            queue.add_after(f"k{i}", 1.0 + i / 1000)
        assert clock.pending_timers == 1
        clock.step(0.5)
        assert clock.pending_timers == 1
        clock.step(2.0)
        assert len(queue) == 1000
        assert clock.pending_timers == 0

    async def test_an_earlier_deadline_replaces_the_timer(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("late", 10.0)
        queue.add_after("soon", 1.0)
        assert clock.pending_timers == 1
        clock.step(1.0)
        assert await take_all(queue) == ["soon"]
        assert clock.pending_timers == 1
        clock.step(9.0)
        assert await take_all(queue) == ["late"]

    async def test_no_timer_is_set_for_superseded_deadlines(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 5.0)
        queue.add_after("a", 1.0)
        clock.step(1.0)
        assert clock.pending_timers == 0


class TestShutdown:
    async def test_shutdown_drops_pending_keys_and_their_timer(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 1.0)
        queue.add("b")
        queue.shut_down()
        assert clock.pending_timers == 0
        clock.step(5.0)
        assert await take_all(queue) == ["b"]
        assert await queue.get() == (None, True)

    async def test_shutdown_with_drain_drops_pending_keys_too(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.add_after("a", 1.0)
        await queue.shut_down_with_drain()
        assert clock.pending_timers == 0

    async def test_add_after_after_shutdown_is_dropped(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        queue.shut_down()
        queue.add_after("a", 1.0)
        queue.add_after("b", 0)
        assert clock.pending_timers == 0
        assert len(queue) == 0

    async def test_on_the_real_clock_shutdown_cancels_the_loop_timer(self) -> None:
        timers: list[asyncio.TimerHandle] = []

        class Recording(MonotonicClock):
            def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
                timer = super().call_at(when, callback)
                assert isinstance(timer, asyncio.TimerHandle)
                timers.append(timer)
                return timer

        tasks_before = asyncio.all_tasks()
        queue: DelayingQueue[str] = DelayingQueue(clock=Recording())
        queue.add_after("a", 60.0)
        queue.add_after("b", 30.0)
        assert asyncio.all_tasks() == tasks_before, "no task per queue or per key"
        queue.shut_down()
        assert timers
        assert all(timer.cancelled() for timer in timers)


class TestRealClock:
    async def test_a_short_delay_arrives(self) -> None:
        queue: DelayingQueue[str] = DelayingQueue()
        queue.add_after("a", 0.01)
        assert await asyncio.wait_for(queue.get(), timeout=5) == ("a", False)


class TestBadInput:
    @pytest.mark.parametrize("seconds", [-1, -0.001, math.nan, math.inf])
    async def test_bad_delays_are_refused(self, queue: DelayingQueue[str], seconds: float) -> None:
        with pytest.raises(ValueError, match="delay"):
            queue.add_after("a", seconds)

    @pytest.mark.parametrize("seconds", ["1", None, True])
    async def test_a_delay_must_be_a_number(
        self, queue: DelayingQueue[str], seconds: object
    ) -> None:
        with pytest.raises(TypeError, match="delay"):
            queue.add_after("a", seconds)  # type: ignore[arg-type]

    async def test_unhashable_keys_are_refused(self) -> None:
        queue: DelayingQueue[object] = DelayingQueue(clock=FakeClock())
        with pytest.raises(TypeError, match="hashable"):
            queue.add_after(["a"], 1.0)

    async def test_a_refused_add_after_leaves_the_queue_working(
        self, clock: FakeClock, queue: DelayingQueue[str]
    ) -> None:
        with pytest.raises(ValueError, match="delay"):
            queue.add_after("a", -1)
        queue.add_after("a", 1.0)
        clock.step(1.0)
        assert await take_all(queue) == ["a"]

    async def test_fake_time_only_moves_forward(self) -> None:
        with pytest.raises(ValueError, match="forward"):
            FakeClock().step(-1)
