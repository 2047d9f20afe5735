"""Time as the work queue sees it: a monotonic reading and one-shot timers.

Both live behind the :class:`Clock` protocol so that tests of delays, backoff and
metrics can move time by hand with :class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None:
        """Stop the timer from firing; harmless once it has fired."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale: only differences mean anything."""

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` once, as soon as ``now()`` reaches ``when``."""


class MonotonicClock:
    """Real time: ``time.monotonic`` and the running event loop's timers."""

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        # The loop may keep its own time scale (uvloop does), so hand it a delay rather
        # than a deadline on ours.
        delay = max(0.0, when - time.monotonic())
        return asyncio.get_running_loop().call_later(delay, callback)


class _FakeTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when :meth:`step` is called.

    Timers fire synchronously inside ``step``, in deadline order, each seeing ``now()``
    equal to its own deadline; code awaiting their effects still needs the event loop
    to run (``await asyncio.sleep(0)``) before it observes them.

    State:
        _now     the current reading
        _timers  heap of (deadline, sequence, timer); the sequence keeps timers with the
                 same deadline in the order they were set
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._sequence = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        timer = _FakeTimer(callback)
        heapq.heappush(self._timers, (when, next(self._sequence), timer))
        return timer

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds``, firing every timer that falls due on the way,
        including timers those callbacks set within the step."""
        if not seconds >= 0:
            raise ValueError(f"time only moves forward: step({seconds!r})")
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self._now = max(self._now, when)
                timer.callback()
        self._now = target

    @property
    def pending_timers(self) -> int:
        """Timers set and neither fired nor cancelled: what a stopped queue must not leave."""
        return sum(not timer.cancelled for _, _, timer in self._timers)
