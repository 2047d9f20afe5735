"""A work queue that can also add a key later (client-go ``delaying_queue.go``).

Pending keys sit in one heap ordered by deadline, watched by a single clock timer set
for the earliest deadline; there is no task or timer per key, so a pending key costs a
heap entry and a dict slot. A key already pending keeps the earlier of its deadlines and
the higher of its priorities. A pending key is independent of the same key waiting in
the queue: ``add(k)`` does not cancel an ``add_after(k, …)``, and when the delay ends the
key is added again (deduplicated as usual), as in client-go.
"""

from __future__ import annotations

import heapq
import itertools

from ome.workqueue._checks import require_key, require_non_negative, require_priority
from ome.workqueue.clock import Clock, Timer
from ome.workqueue.metrics import MetricsProvider
from ome.workqueue.queue import K, Queue

# A pending key: (deadline, sequence, key, priority). The sequence breaks deadline ties
# in add order, so keys themselves are never compared.
_Pending = tuple[float, int, K, int]


class DelayingQueue(Queue[K]):
    """
    State:
        _pending     heap of pending keys by deadline. An entry is live only while
                     ``_deadlines[key] is entry``: an earlier deadline or a higher priority
                     pushes a new entry and leaves the old one dead in the heap.
        _deadlines   key -> its live entry.
        _sequence    numbers pending entries in the order they were made.
        _timer       the one clock timer, due at ``_timer_at``, the earliest live
                     deadline; None when nothing is pending or the queue is shut down.
    """

    def __init__(
        self,
        *,
        name: str = "",
        clock: Clock | None = None,
        metrics: MetricsProvider | None = None,
    ) -> None:
        super().__init__(name=name, clock=clock, metrics=metrics)
        self._sequence = itertools.count()
        self._pending: list[_Pending[K]] = []
        self._deadlines: dict[K, _Pending[K]] = {}
        self._timer: Timer | None = None
        self._timer_at = 0.0

    def add_after(self, key: K, seconds: float, priority: int = 0) -> None:
        """Add ``key`` once ``seconds`` have passed; 0 adds it now."""
        require_key(key)
        require_non_negative("delay", seconds)
        require_priority(priority)
        if self._shutting_down:
            return
        if seconds == 0:
            self.add(key, priority)
            return
        if self._metrics is not None:
            self._metrics.retried()
        deadline = self._clock.now() + seconds
        current = self._deadlines.get(key)
        if current is not None:
            if current[0] <= deadline and current[3] >= priority:
                return
            deadline = min(deadline, current[0])
            priority = max(priority, current[3])
        entry = (deadline, next(self._sequence), key, priority)
        self._deadlines[key] = entry
        heapq.heappush(self._pending, entry)
        if self._timer is None or deadline < self._timer_at:
            self._set_timer(deadline)

    def _close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()
        self._deadlines.clear()
        super()._close()

    def _set_timer(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._clock.call_at(deadline, self._release_due)

    def _release_due(self) -> None:
        self._timer = None
        pending, deadlines = self._pending, self._deadlines
        now = self._clock.now()
        while pending and pending[0][0] <= now:
            entry = heapq.heappop(pending)
            key = entry[2]
            if deadlines.get(key) is entry:
                del deadlines[key]
                self.add(key, entry[3])
        # Superseded entries at the front would otherwise wake us for nothing.
        while pending and deadlines.get(pending[0][2]) is not pending[0]:
            heapq.heappop(pending)
        if pending:
            self._set_timer(pending[0][0])
