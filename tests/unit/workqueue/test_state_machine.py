"""The rate-limiting queue against a plain reference model, driven by hypothesis.

The model keeps, per priority, a list of keys in the order they joined, and replays every
operation in the most direct way. Every get() must return the key the model predicts;
beyond that, the run checks the queue's promises directly: no key is handed to two
workers at once, every accepted add is followed by a run that starts after it, and after
shutdown only the keys then waiting or due to re-run are handed out, once each.

Workers are modelled as the set of keys held between get() and done(). get() is only
called when it cannot block (a key waits, or the queue is shut down), so the coroutine
completes on its first step and the machine needs no event loop.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ome.workqueue import FakeClock, ItemExponentialFailureRateLimiter, RateLimitingQueue

KEYS = st.sampled_from("abcde")
PRIORITIES = st.sampled_from([-100, 0, 0, 5])
DELAYS = st.sampled_from([0, 0.5, 1.0, 2.0])
STEPS = st.sampled_from([0.25, 0.5, 1.0, 3.0])


def run_to_end(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that must not suspend; return its result."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise AssertionError("get() suspended although it had a key or was shut down")


class Model:
    def __init__(self) -> None:
        self.now = 0.0
        self.joined = 0  # a counter giving each entry its place within a priority
        self.waiting: dict[str, tuple[int, int]] = {}  # key -> (priority, place)
        self.held: set[str] = set()
        self.rerun: dict[str, int] = {}  # key -> priority
        self.delayed: dict[str, tuple[float, int, int]] = {}  # key -> (deadline, place, prio)
        self.failures: dict[str, int] = {}
        self.shut_down = False

    def place(self) -> int:
        self.joined += 1
        return self.joined

    def add(self, key: str, priority: int) -> None:
        if key in self.held:
            self.rerun[key] = max(priority, self.rerun.get(key, priority))
        elif key not in self.waiting or priority > self.waiting[key][0]:
            self.waiting[key] = (priority, self.place())

    def add_after(self, key: str, delay: float, priority: int) -> None:
        if delay == 0:
            self.add(key, priority)
            return
        deadline = self.now + delay
        if key in self.delayed:
            old_deadline, _, old_priority = self.delayed[key]
            if old_deadline <= deadline and old_priority >= priority:
                return
            deadline, priority = min(deadline, old_deadline), max(priority, old_priority)
        self.delayed[key] = (deadline, self.place(), priority)

    def step(self, seconds: float) -> None:
        self.now += seconds
        due = sorted(
            (deadline, place, key, priority)
            for key, (deadline, place, priority) in self.delayed.items()
            if deadline <= self.now
        )
        for _, _, key, priority in due:
            del self.delayed[key]
            self.add(key, priority)

    def next_key(self) -> str:
        return min(self.waiting, key=lambda k: (-self.waiting[k][0], self.waiting[k][1]))


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(
            ItemExponentialFailureRateLimiter(0.5, 4.0), clock=self.clock
        )
        self.model = Model()
        self.last_add: dict[str, int] = {}  # key -> event number of its last accepted add
        self.last_start: dict[str, int] = {}  # key -> event number its last run started
        self.events = 0
        self.allowed_after_shutdown: set[str] = set()

    def accepted(self, key: str) -> None:
        self.events += 1
        self.last_add[key] = self.events

    @rule(key=KEYS, priority=PRIORITIES)
    def add(self, key: str, priority: int) -> None:
        self.queue.add(key, priority)
        if not self.model.shut_down:
            self.model.add(key, priority)
            self.accepted(key)

    @rule(key=KEYS, delay=DELAYS, priority=PRIORITIES)
    def add_after(self, key: str, delay: float, priority: int) -> None:
        self.queue.add_after(key, delay, priority)
        if not self.model.shut_down:
            self.model.add_after(key, delay, priority)
            if delay == 0:
                self.accepted(key)

    @rule(key=KEYS)
    def add_rate_limited(self, key: str) -> None:
        self.queue.add_rate_limited(key)
        if not self.model.shut_down:
            failures = self.model.failures.get(key, 0)
            self.model.failures[key] = failures + 1
            self.model.add_after(key, min(0.5 * 2**failures, 4.0), 0)

    @rule(key=KEYS)
    def forget(self, key: str) -> None:
        self.queue.forget(key)
        self.model.failures.pop(key, None)

    @rule(seconds=STEPS)
    def step(self, seconds: float) -> None:
        fired = {key for key, (deadline, _, _) in self.model.delayed.items()}
        self.clock.step(seconds)
        self.model.step(seconds)
        for key in fired - set(self.model.delayed):
            self.accepted(key)

    @precondition(lambda self: self.model.waiting or self.model.shut_down)
    @rule()
    def get(self) -> None:
        key, shutdown = run_to_end(self.queue.get())
        if not self.model.waiting:
            assert (key, shutdown) == (None, True)
            return
        assert (key, shutdown) == (self.model.next_key(), False)
        assert key not in self.model.held, f"{key} handed to a second worker"
        if self.model.shut_down:
            assert key in self.allowed_after_shutdown, f"{key} handed out after shutdown"
            self.allowed_after_shutdown.discard(key)
        del self.model.waiting[key]
        self.model.held.add(key)
        self.events += 1
        self.last_start[key] = self.events

    @precondition(lambda self: self.model.held)
    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        self.finish(data.draw(st.sampled_from(sorted(self.model.held))))

    def finish(self, key: str) -> None:
        self.queue.done(key)
        self.model.held.discard(key)
        if key in self.model.rerun:
            priority = self.model.rerun.pop(key)
            self.model.waiting[key] = (priority, self.model.place())
            if self.model.shut_down:
                self.allowed_after_shutdown.add(key)

    @precondition(lambda self: not self.model.shut_down)
    @rule()
    def shut_down(self) -> None:
        self.queue.shut_down()
        self.model.shut_down = True
        self.model.delayed.clear()
        self.allowed_after_shutdown = set(self.model.waiting) | set(self.model.rerun)

    @invariant()
    def lengths_agree(self) -> None:
        assert len(self.queue) == len(self.model.waiting)
        assert self.queue.shutting_down == self.model.shut_down

    def teardown(self) -> None:
        """Finish everything: no accepted add may be left without a later run."""
        for key in sorted(self.model.held):
            self.finish(key)
        if not self.model.shut_down:
            self.step(10.0)
        while self.model.waiting:
            self.get()
            for key in sorted(self.model.held):
                self.finish(key)
        unserved = {k for k, added in self.last_add.items() if self.last_start.get(k, 0) < added}
        assert not unserved, f"keys added but never run afterwards: {unserved}"


TestQueueMachine = QueueMachine.TestCase
TestQueueMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
