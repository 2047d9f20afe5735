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

A body's ``metadata.resourceVersion`` is left out of its digest: a controller that
fences its writes (``ome.client.fenced``) sends the same content over a new version
each time, and that is still a repeat.

State, all in memory: ``_writes`` maps (controller, path) to the (time, digest, repeat)
of its writes within the window; ``_reported`` maps the same key to when it was last
reported. Keys whose writes have all left the window are swept out whenever
``_sweep_at`` keys are held, which is then set to twice the keys left (at least
``_SWEEP``): memory follows the objects written recently, not all ever written, and a
burst of writes to many objects does not sweep again and again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
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
        self._sweep_at = _SWEEP

    def observe(self, method: str, path: str, body: RequestBody) -> None:
        """A client write observer (:attr:`ome.client.Client.write_observers`)."""
        controller = current_controller.get()
        if controller is None:
            return
        now = self.clock()
        key = (controller, path)
        writes = self._writes.setdefault(key, deque())
        self._expire(writes, now)
        digest = hash(codec.canonical(_unfenced(body)))
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
        if len(self._writes) >= self._sweep_at:
            self._sweep(now)
            self._sweep_at = max(_SWEEP, 2 * len(self._writes))

    def _expire(self, writes: deque[tuple[float, int, bool]], now: float) -> None:
        while writes and now - writes[0][0] > self.window:
            writes.popleft()

    def _sweep(self, now: float) -> None:
        for key in list(self._writes):
            self._expire(self._writes[key], now)
            if not self._writes[key]:
                del self._writes[key]
        self._reported = {k: t for k, t in self._reported.items() if now - t < self.window}


def _unfenced(body: RequestBody) -> RequestBody:
    """``body`` without ``metadata.resourceVersion``."""
    if not isinstance(body, Mapping):
        return body
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping) or "resourceVersion" not in metadata:
        return body
    rest = {key: value for key, value in metadata.items() if key != "resourceVersion"}
    return {**body, "metadata": rest}
