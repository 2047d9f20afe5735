"""A guard that makes write loops visible: a controller writing one object again and
again, each time with content it already wrote there a moment ago.

Two owners trading an object back and forth, or a reconcile that rewrites what a stale
cache shows, produce no error and no log line — only load on the API server. The guard
watches every write a controller's reconciles make (through the client's write
observers) and, per controller and object path, remembers the digests of the bodies
written within ``window`` seconds. A write whose body was already written there in that
window is a *repeat*; ``threshold`` repeats within the window are reported once per
window as a warning naming the controller and the object, and counted in
``controller_runtime_write_loops_total``. Writes made outside a reconcile are not
watched.

State, all in memory: ``_writes`` maps (controller, path) to the (time, digest, repeat)
of its writes within the window; ``_reported`` maps the same key to when it was last
reported. Keys whose writes have all left the window are swept out every ``_SWEEP``
observations, so memory follows the objects written recently, not all ever written.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from prometheus_client import Counter

from ome.client import RequestBody, codec

current_controller: ContextVar[str | None] = ContextVar("current_controller", default=None)
"""The name of the controller whose reconcile is running in this task, if any."""

DEFAULT_THRESHOLD = 10
DEFAULT_WINDOW = 60.0
_SWEEP = 1024
log = structlog.get_logger("ome.writeloop")

Key = tuple[str, str]


class WriteLoopGuard:
    def __init__(
        self,
        counter: Counter,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        self.counter = counter
        self.threshold = threshold
        self.window = window
        self.clock = clock
        self._writes: dict[Key, deque[tuple[float, int, bool]]] = {}
        self._reported: dict[Key, float] = {}
        self._observed = 0

    def observe(self, method: str, path: str, body: RequestBody) -> None:
        """A client write observer (:attr:`ome.client.Client.write_observers`)."""
        controller = current_controller.get()
        if controller is None:
            return
        now = self.clock()
        key = (controller, path)
        writes = self._writes.setdefault(key, deque())
        self._expire(writes, now)
        digest = hash(codec.canonical(body))
        repeat = any(d == digest for _, d, _ in writes)
        writes.append((now, digest, repeat))
        repeats = sum(1 for *_, r in writes if r)
        reported = self._reported.get(key)
        if repeats >= self.threshold and (reported is None or now - reported >= self.window):
            self._reported[key] = now
            self.counter.labels(controller).inc()
            log.warning(
                "write loop: the controller keeps rewriting an object with content it "
                "wrote there moments ago",
                controller=controller,
                method=method,
                path=path,
                repeated_writes=repeats,
                window_seconds=self.window,
            )
        self._observed += 1
        if self._observed % _SWEEP == 0:
            self._sweep(now)

    def _expire(self, writes: deque[tuple[float, int, bool]], now: float) -> None:
        while writes and now - writes[0][0] > self.window:
            writes.popleft()

    def _sweep(self, now: float) -> None:
        for key in list(self._writes):
            self._expire(self._writes[key], now)
            if not self._writes[key]:
                del self._writes[key]
        self._reported = {k: t for k, t in self._reported.items() if now - t < self.window}
