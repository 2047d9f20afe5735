"""The work queue: client-go's guarantees, ordered by controller-runtime's priorities.

Guarantees (client-go ``util/workqueue``):

- a key is never handed to two workers at once;
- adds of a key that is waiting collapse into one entry, and any number of adds while
  the key is being processed collapse into exactly one more run after ``done()``;
- after ``shut_down()`` workers still get the keys that were waiting, then ``get()``
  reports shutdown; later adds are dropped.

Order (controller-runtime ``priorityqueue``): higher priority first, and each priority
is a FIFO line. Adding a waiting key again with a higher priority moves it to the back of
that priority's line; a lower or equal priority changes nothing. With priority 0
everywhere the order is exactly client-go's, where a key re-run after ``done()`` joins
the back of the line.

The queue is not thread-safe: use it from the event loop's thread. No method awaits
while it changes state, so it needs no lock.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Hashable
from typing import Generic, Literal

from typing_extensions import TypeVar

from ome.workqueue._checks import require_key, require_priority
from ome.workqueue.clock import Clock, MonotonicClock
from ome.workqueue.metrics import MetricsProvider, QueueMetrics

K = TypeVar("K", bound=Hashable, default=Hashable)


# A waiting key's place in a line: (priority, key). Entries are compared by identity,
# never by value: see _waiting.
_Entry = tuple[int, K]


class Queue(Generic[K]):
    """
    State:
        _lines       priority -> FIFO of entries of keys waiting for a worker. An entry is
                     live only while ``_waiting[key] is entry``: raising a key's priority
                     appends a new entry to the higher line and leaves the old one dead, to
                     be dropped when it reaches the front. A line may be empty.
        _priorities  heap of the negated priorities that have a line, so ``-_priorities[0]``
                     is the highest.
        _waiting     key -> its live entry. Never shares a key with ``_processing``.
        _processing  keys handed out by get() and not yet done().
        _rerun       key -> priority, for keys added while being processed; they rejoin
                     their line at done(). Every key in it is also in ``_processing``.
                     (client-go's "dirty" set is ``_waiting`` plus ``_rerun``.)
        _getters     futures of get() calls waiting for a key, oldest first.
        _draining    shut_down_with_drain() is waiting for ``_processing`` to empty.
        _drained     set when that wait may end: ``_processing`` emptied, or shut_down().
    """

    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock | None = None,
        metrics: MetricsProvider | None = None,
    ) -> None:
        """``name`` labels the queue's metrics; ``clock`` defaults to real monotonic
        time; without ``metrics`` nothing is recorded."""
        if metrics is not None and not name:
            raise ValueError("a queue with metrics needs a name to label them with")
        self.name = name
        self._clock: Clock = clock if clock is not None else MonotonicClock()
        self._metrics = QueueMetrics(metrics, name, self._clock) if metrics is not None else None
        self._lines: dict[int, deque[_Entry[K]]] = {}
        self._priorities: list[int] = []
        self._waiting: dict[K, _Entry[K]] = {}
        self._processing: set[K] = set()
        self._rerun: dict[K, int] = {}
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._draining = False
        self._drained = asyncio.Event()

    def __len__(self) -> int:
        """Keys waiting for a worker (not those being processed, even if due to re-run)."""
        return len(self._waiting)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: K, priority: int = 0) -> None:
        """Mark ``key`` as needing processing, at ``priority`` or higher."""
        require_key(key)
        require_priority(priority)
        if self._shutting_down:
            return
        if key in self._processing:
            self._add_rerun(key, priority)
            return
        entry = self._waiting.get(key)
        if entry is None:
            self._append(key, priority)
            if self._metrics is not None:
                self._metrics.added(key, priority)
            if self._getters:
                self._wake_getter()
        elif priority > entry[0]:
            self._append(key, priority)
            if self._metrics is not None:
                self._metrics.reprioritised(entry[0], priority)

    async def get(self) -> tuple[K, Literal[False]] | tuple[None, Literal[True]]:
        """Wait for a key and hand it to the caller, who must call ``done(key)`` when
        finished with it. Returns ``(None, True)`` once the queue is shut down and empty.

        None is never a key, so ``if key is None`` tests the same as ``if shutdown`` and
        also tells a type checker that ``key`` is a key."""
        while not self._waiting:
            if self._shutting_down:
                return None, True
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                # Woken but leaving: pass the wake-up on, or the key waits for the next add.
                if self._waiting and not getter.cancelled():
                    self._wake_getter()
                raise
        return self._take(), False

    def done(self, key: K) -> None:
        """Finish processing ``key``; if it was added meanwhile, queue it again."""
        try:
            self._processing.remove(key)
        except KeyError:
            raise ValueError(f"done({key!r}) without a get() that returned it") from None
        if self._metrics is not None:
            self._metrics.done(key)
        priority = self._rerun.pop(key, None)
        if priority is not None:
            self._append(key, priority)
            if self._getters:
                self._wake_getter()
        elif self._draining and not self._processing:
            self._drained.set()

    def shut_down(self) -> None:
        """Stop accepting keys. Workers still get the keys already waiting; after that
        get() returns ``(None, True)``. Ends a shut_down_with_drain() wait early."""
        self._draining = False
        self._drained.set()
        self._close()

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until every key handed to a worker is done()."""
        self._draining = True
        self._close()
        while self._draining and self._processing:
            self._drained.clear()
            await self._drained.wait()

    def _close(self) -> None:
        self._shutting_down = True
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)

    def _append(self, key: K, priority: int) -> None:
        entry = (priority, key)
        self._waiting[key] = entry
        line = self._lines.get(priority)
        if line is None:
            line = self._lines[priority] = deque()
            heapq.heappush(self._priorities, -priority)
        line.append(entry)

    def _take(self) -> K:
        lines, priorities, waiting = self._lines, self._priorities, self._waiting
        while True:
            line = lines[-priorities[0]]
            if not line:
                del lines[-heapq.heappop(priorities)]
                continue
            entry = line.popleft()
            if waiting.get(entry[1]) is entry:
                break
        key = entry[1]
        del waiting[key]
        self._processing.add(key)
        if self._metrics is not None:
            self._metrics.taken(key, entry[0])
        return key

    def _add_rerun(self, key: K, priority: int) -> None:
        current = self._rerun.get(key)
        if current is None:
            self._rerun[key] = priority
            if self._metrics is not None:
                self._metrics.added(key, priority)
        elif priority > current:
            self._rerun[key] = priority
            if self._metrics is not None:
                self._metrics.reprioritised(current, priority)

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                return
