"""The reflector's retry delays: client-go's ``Backoff.DelayWithReset`` for list/watch.

Delays double from ``initial`` up to ``cap``; each is stretched by a random share of up
to ``jitter`` times itself, so informers that failed together do not retry together.
With the defaults the sleeps fall in [0.8, 1.6), [1.6, 3.2), ... [25.6, 51.2) and then
[30, 60) seconds: about one attempt every 45 s while the API server is down. Asking for
no delay for ``reset_after`` seconds means things went well: the next delay starts from
``initial`` again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class Backoff:
    """
    State:
        _next   the un-jittered delay the next call to ``delay()`` starts from.
        _last   clock time of the last ``delay()`` call, None before the first.
    """

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial <= cap:
            raise ValueError(f"backoff needs 0 < initial <= cap, got {initial} and {cap}")
        if factor < 1 or jitter < 0 or reset_after <= 0:
            raise ValueError("backoff needs factor >= 1, jitter >= 0 and reset_after > 0")
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.reset_after = reset_after
        self._clock = clock
        self._rng = rng
        self._next = initial
        self._last: float | None = None

    def delay(self) -> float:
        """Seconds to wait before the next attempt."""
        now = self._clock()
        if self._last is not None and now - self._last > self.reset_after:
            self._next = self.initial
        self._last = now
        base = self._next
        self._next = min(base * self.factor, self.cap)
        return base + self.jitter * base * self._rng()
