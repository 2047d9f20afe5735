"""The queue's contract: deduplication, one worker per key, priorities, shutdown."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Hashable

import pytest

from ome.workqueue import Queue
from tests.unit.workqueue.helpers import settle, take, take_all


class TestOrderAndDeduplication:
    async def test_keys_leave_in_the_order_they_were_added(self) -> None:
        queue: Queue[str] = Queue()
        for key in "abc":
            queue.add(key)
        assert await take_all(queue) == ["a", "b", "c"]

    async def test_adds_of_a_waiting_key_collapse_into_one_entry(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        queue.add("b")
        queue.add("a")
        assert len(queue) == 2
        assert await take_all(queue) == ["a", "b"]

    async def test_adds_during_processing_collapse_into_one_rerun_after_done(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        for _ in range(5):
            queue.add("a")
        assert len(queue) == 0, "a key being processed is not handed out again"
        queue.done(key)
        assert len(queue) == 1
        assert await take_all(queue) == ["a"]

    async def test_a_rerun_joins_the_back_of_the_line(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        queue.add("a")
        queue.add("b")
        queue.done(key)
        assert await take_all(queue) == ["b", "a"]

    async def test_a_key_done_without_adds_is_gone(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        queue.done(await take(queue))
        assert len(queue) == 0

    async def test_get_waits_for_an_add(self) -> None:
        queue: Queue[str] = Queue()
        getter = asyncio.create_task(queue.get())
        await settle()
        assert not getter.done()
        queue.add("a")
        assert await getter == ("a", False)

    async def test_one_add_wakes_one_of_many_waiting_workers(self) -> None:
        queue: Queue[str] = Queue()
        getters = [asyncio.create_task(queue.get()) for _ in range(3)]
        await settle()
        queue.add("a")
        await settle()
        assert [g.result() for g in getters if g.done()] == [("a", False)]
        still_waiting = [g for g in getters if not g.done()]
        queue.shut_down()
        assert await asyncio.gather(*still_waiting) == [(None, True)] * 2


class TestPriorities:
    async def test_higher_priorities_go_first_fifo_within_each(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("low1", priority=-100)
        queue.add("mid1")
        queue.add("high1", priority=10)
        queue.add("low2", priority=-100)
        queue.add("mid2")
        queue.add("high2", priority=10)
        assert await take_all(queue) == ["high1", "high2", "mid1", "mid2", "low1", "low2"]

    async def test_re_adding_with_a_higher_priority_raises_a_waiting_key(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a", priority=-100)
        queue.add("b")
        queue.add("a", priority=0)
        assert len(queue) == 2
        assert await take_all(queue) == ["b", "a"], "a raised key joins the back of its line"

    async def test_re_adding_with_a_lower_priority_keeps_the_higher(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a", priority=5)
        queue.add("b", priority=1)
        queue.add("a", priority=-100)
        assert await take_all(queue) == ["a", "b"]

    async def test_a_rerun_keeps_the_highest_priority_asked_for(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        queue.add("b", priority=1)
        queue.add("a", priority=-100)
        queue.add("a", priority=3)
        queue.add("a", priority=2)
        queue.done(key)
        assert await take_all(queue) == ["a", "b"]

    async def test_keys_raised_out_of_a_line_are_not_handed_out_twice(self) -> None:
        queue: Queue[str] = Queue()
        for key in "abc":
            queue.add(key, priority=-1)
        for key in "abc":
            queue.add(key, priority=1)
        assert await take_all(queue) == ["a", "b", "c"]
        queue.add("a", priority=-1)
        assert await take_all(queue) == ["a"]


class TestOneWorkerPerKey:
    async def test_concurrent_workers_never_share_a_key_and_lose_no_add(self) -> None:
        """Eight workers and a producer adding twenty keys at random; every key's last
        add must be followed by a run that started after it."""
        rng = random.Random(7)
        queue: Queue[int] = Queue()
        in_flight: set[int] = set()
        added_at: dict[int, int] = {}  # key -> tick of its last add
        started_at: dict[int, int] = {}  # key -> tick its last run started
        tick = 0

        async def worker() -> None:
            nonlocal tick
            while True:
                key, shutdown = await queue.get()
                if shutdown:
                    return
                assert key is not None
                assert key not in in_flight, f"key {key} handed to two workers"
                in_flight.add(key)
                tick += 1
                started_at[key] = tick
                for _ in range(rng.randrange(3)):
                    await asyncio.sleep(0)
                in_flight.remove(key)
                queue.done(key)

        workers = [asyncio.create_task(worker()) for _ in range(8)]
        for _ in range(2000):
            key = rng.randrange(20)
            tick += 1
            added_at[key] = tick
            queue.add(key)
            if rng.random() < 0.3:
                await asyncio.sleep(0)
        await queue.shut_down_with_drain()
        await asyncio.gather(*workers)
        late = {key for key, added in added_at.items() if started_at.get(key, 0) < added}
        assert not late, f"keys never run after their last add: {late}"


class TestShutdown:
    async def test_workers_still_get_the_waiting_keys_then_shutdown(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        queue.add("b")
        queue.shut_down()
        assert queue.shutting_down
        assert await queue.get() == ("a", False)
        assert await queue.get() == ("b", False)
        assert await queue.get() == (None, True)
        assert await queue.get() == (None, True)

    async def test_adds_after_shutdown_are_dropped(self) -> None:
        queue: Queue[str] = Queue()
        queue.shut_down()
        queue.add("a")
        assert len(queue) == 0
        assert await queue.get() == (None, True)

    async def test_shutdown_wakes_waiting_workers(self) -> None:
        queue: Queue[str] = Queue()
        getters = [asyncio.create_task(queue.get()) for _ in range(3)]
        await settle()
        queue.shut_down()
        assert await asyncio.gather(*getters) == [(None, True)] * 3

    async def test_a_key_added_during_processing_before_shutdown_still_reruns(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        queue.add("a")
        queue.shut_down()
        queue.done(key)
        assert await queue.get() == ("a", False)

    async def test_drain_waits_until_keys_in_flight_are_done(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        queue.add("b")
        first, second = await take(queue), await take(queue)
        drain = asyncio.create_task(queue.shut_down_with_drain())
        await settle()
        queue.done(first)
        await settle()
        assert not drain.done()
        queue.done(second)
        await asyncio.wait_for(drain, timeout=5)

    async def test_drain_with_nothing_in_flight_returns_at_once(self) -> None:
        queue: Queue[str] = Queue()
        await asyncio.wait_for(queue.shut_down_with_drain(), timeout=5)

    async def test_shut_down_ends_a_drain_early(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        await take(queue)
        drain = asyncio.create_task(queue.shut_down_with_drain())
        await settle()
        assert not drain.done()
        queue.shut_down()
        await asyncio.wait_for(drain, timeout=5)

    async def test_concurrent_drains_all_end(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        drains = [asyncio.create_task(queue.shut_down_with_drain()) for _ in range(3)]
        await settle()
        drains[0].cancel()
        queue.done(key)
        results = await asyncio.wait_for(asyncio.gather(*drains, return_exceptions=True), 5)
        assert isinstance(results[0], asyncio.CancelledError)
        assert results[1:] == [None, None]


class TestCancellation:
    async def test_a_cancelled_get_does_not_swallow_a_key(self) -> None:
        queue: Queue[str] = Queue()
        doomed = asyncio.create_task(queue.get())
        survivor = asyncio.create_task(queue.get())
        await settle()
        queue.add("a")  # wakes `doomed`, which is cancelled before it can run
        doomed.cancel()
        assert await asyncio.wait_for(survivor, timeout=5) == ("a", False)
        assert doomed.cancelled()

    async def test_a_cancelled_waiting_get_leaves_no_trace(self) -> None:
        queue: Queue[str] = Queue()
        doomed = asyncio.create_task(queue.get())
        await settle()
        doomed.cancel()
        await settle()
        queue.add("a")
        assert await take_all(queue) == ["a"]


class TestBadInput:
    @pytest.mark.parametrize("key", [["list"], {"a": 1}, {1, 2}])
    async def test_unhashable_keys_are_refused(self, key: Hashable) -> None:
        queue: Queue[Hashable] = Queue()
        with pytest.raises(TypeError, match="hashable"):
            queue.add(key)
        queue.shut_down()
        with pytest.raises(TypeError, match="hashable"):
            queue.add(key)

    async def test_none_is_refused_as_a_key(self) -> None:
        with pytest.raises(TypeError, match="None"):
            Queue[Hashable]().add(None)

    async def test_a_priority_must_be_an_int(self) -> None:
        with pytest.raises(TypeError, match="priority"):
            Queue[str]().add("a", priority=1.5)  # type: ignore[arg-type]

    async def test_done_without_get_is_refused(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        with pytest.raises(ValueError, match="without a get"):
            queue.done("a")
        assert await take_all(queue) == ["a"], "the refused done() changed nothing"

    async def test_done_twice_is_refused(self) -> None:
        queue: Queue[str] = Queue()
        queue.add("a")
        key = await take(queue)
        queue.done(key)
        with pytest.raises(ValueError, match="without a get"):
            queue.done(key)
