"""A named controller: watches feed a rate-limited work queue, workers reconcile keys.

The worker loop is controller-runtime's: take a key, reconcile it with a fresh
reconcile_id bound into the log context, and decide what happens next from the outcome —

    Result() or None        forget the key's failures; done
    Result(requeue_after=t) forget the failures; run again in t seconds
    TerminalError           log it; do not retry
    409 Conflict            retry later with backoff, logged at debug level: an update
                            over a stale resourceVersion, which the next run (over a
                            fresher cache) resolves; AlreadyExists stays an error
    any other exception     retry later with per-key exponential backoff
    anything else returned  a programming error: logged, retried like an exception

The queue guarantees a key is never reconciled by two workers at once, and that changes
arriving during a reconcile cause exactly one more run afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import pydantic
import structlog

from ome.client import Conflict, KubeObject
from ome.informers import DeletedFinalStateUnknown
from ome.runtime.handlers import EventHandler
from ome.runtime.metrics import RuntimeMetrics
from ome.runtime.predicates import HoldingPredicate, Predicate
from ome.runtime.request import Request, Result
from ome.runtime.writeloop import current_controller
from ome.workqueue import RateLimitingQueue, default_controller_rate_limiter

Reconciler = Callable[[Request], Awaitable[Result | None]]
# Events from the initial list and periodic resyncs must not delay real changes.
LOW_PRIORITY = -100
CACHE_SYNC_TIMEOUT = 120.0
STALE = "Conflict"
"""The Status reason of a write over a stale resourceVersion (optimistic concurrency)."""
log = structlog.get_logger("ome.controller")


class TerminalError(Exception):
    """A reconcile failure that retrying cannot fix (bad input): not requeued."""


class Registration(Protocol):
    @property
    def has_synced(self) -> bool: ...

    def remove(self) -> None: ...


class Source(Protocol):
    """What a controller needs of an informer."""

    def add_event_handler(
        self,
        on_add: Callable[[KubeObject], None] | None = None,
        on_update: Callable[[KubeObject, KubeObject], None] | None = None,
        on_delete: Callable[[KubeObject | DeletedFinalStateUnknown], None] | None = None,
    ) -> Registration: ...


def _stale(err: Exception) -> bool:
    """A write over a stale resourceVersion: expected under optimistic concurrency, not
    worth a traceback (a create of an existing object, AlreadyExists, is a real error)."""
    return isinstance(err, Conflict) and err.reason == STALE


def _object_of(event_object: KubeObject | DeletedFinalStateUnknown) -> KubeObject:
    """Deletes seen only through a relist arrive wrapped with their last known state."""
    if isinstance(event_object, DeletedFinalStateUnknown):
        return event_object.obj
    return event_object


class Controller:
    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        max_concurrent_reconciles: int = 1,
        reconcile_timeout: float | None = None,
        metrics: RuntimeMetrics | None = None,
        queue: RateLimitingQueue[Request] | None = None,
        cache_sync_timeout: float = CACHE_SYNC_TIMEOUT,
    ) -> None:
        if not name:
            raise ValueError("a controller needs a name (it labels its logs and metrics)")
        if max_concurrent_reconciles < 1:
            raise ValueError(
                f"controller {name}: max_concurrent_reconciles must be >= 1, "
                f"got {max_concurrent_reconciles}"
            )
        if reconcile_timeout is not None and reconcile_timeout <= 0:
            raise ValueError(f"controller {name}: reconcile_timeout must be > 0")
        self.name = name
        self.reconciler = reconciler
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.reconcile_timeout = reconcile_timeout
        self.cache_sync_timeout = cache_sync_timeout
        self.metrics = metrics
        self.queue: RateLimitingQueue[Request] = queue or RateLimitingQueue(
            rate_limiter=default_controller_rate_limiter(), name=name
        )
        self._registrations: list[Registration] = []
        self._workers: list[asyncio.Task[None]] = []
        if metrics is not None:
            metrics.register_controller(name, max_concurrent_reconciles)

    # -- wiring --------------------------------------------------------------------

    def watch(
        self, source: Source, handler: EventHandler, predicates: Sequence[Predicate] = ()
    ) -> None:
        """Queue the requests ``handler`` maps each event of ``source`` to, if every
        predicate allows the event."""
        registration: Registration | None = None

        def priority() -> int:
            return 0 if registration is not None and registration.has_synced else LOW_PRIORITY

        def enqueue(requests: Iterable[Request], level: int) -> None:
            for request in requests:
                self.queue.add(request, priority=level)

        def on_add(obj: KubeObject) -> None:
            if all(p.create(obj) for p in predicates):
                enqueue(handler.requests(obj), priority())

        def on_update(old: KubeObject, new: KubeObject) -> None:
            if all(p.update(old, new) for p in predicates):
                same = old.get("metadata", {}).get("resourceVersion") == new.get(
                    "metadata", {}
                ).get("resourceVersion")
                enqueue(handler.for_update(old, new), LOW_PRIORITY if same else 0)

        def on_delete(event_object: KubeObject | DeletedFinalStateUnknown) -> None:
            obj = _object_of(event_object)
            if all(p.delete(obj) for p in predicates):
                enqueue(handler.requests(obj), 0)

        for holding in predicates:
            if isinstance(holding, HoldingPredicate):
                holding.bind(on_add)
        registration = source.add_event_handler(
            on_add=on_add, on_update=on_update, on_delete=on_delete
        )
        self._registrations.append(registration)

    # -- running -------------------------------------------------------------------

    async def start(self) -> None:
        """Wait until every watch has delivered its initial list, then start the workers."""
        deadline = time.monotonic() + self.cache_sync_timeout
        while not all(r.has_synced for r in self._registrations):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"controller {self.name}: caches not synced after {self.cache_sync_timeout}s"
                )
            await asyncio.sleep(0.05)
        self._workers = [
            asyncio.create_task(self._work(), name=f"{self.name}-worker-{i}")
            for i in range(self.max_concurrent_reconciles)
        ]
        log.info("controller started", controller=self.name, workers=len(self._workers))

    async def stop(self) -> None:
        """Stop taking keys and wait for the reconciles in flight."""
        for registration in self._registrations:
            registration.remove()
        self.queue.shut_down()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            key, _ = await self.queue.get()
            if key is None:  # shut down and drained
                return
            try:
                await self._reconcile(key)
            finally:
                self.queue.done(key)

    async def _reconcile(self, request: Request) -> None:
        reconcile_id = str(uuid.uuid4())
        with structlog.contextvars.bound_contextvars(
            controller=self.name,
            namespace=request.namespace,
            name=request.name,
            reconcile_id=reconcile_id,
        ):
            started = time.perf_counter()
            self._count_worker(+1)
            running = current_controller.set(self.name)
            try:
                outcome = await self._call(request)
            finally:
                current_controller.reset(running)
                self._count_worker(-1)
                if self.metrics is not None:
                    self.metrics.reconcile_time.labels(self.name).observe(
                        time.perf_counter() - started
                    )
            self._record(outcome)

    async def _call(self, request: Request) -> str:
        """Run the reconciler and schedule what comes next; returns the result label."""
        try:
            if self.reconcile_timeout is None:
                result = await self.reconciler(request)
            else:
                async with asyncio.timeout(self.reconcile_timeout):
                    result = await self.reconciler(request)
        except TerminalError as err:
            log.error("reconcile failed for good", error=str(err))
            self.queue.forget(request)
            self._count("terminal")
            return "error"
        except pydantic.ValidationError as err:
            log.error("object cannot be parsed; skipped until it changes", error=str(err))
            self.queue.forget(request)
            self._count("terminal")
            return "error"
        except TimeoutError:
            log.error("reconcile timed out", timeout=self.reconcile_timeout)
            self._count("timeout")
            self.queue.add_rate_limited(request)
            return "error"
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if _stale(err):
                log.debug("object changed meanwhile; will retry", error=str(err))
            else:
                log.exception("reconcile failed; will retry")
            self.queue.add_rate_limited(request)
            return "error"
        if result is None or (isinstance(result, Result) and result.requeue_after <= 0):
            self.queue.forget(request)
            return "success"
        if isinstance(result, Result):
            self.queue.forget(request)
            self.queue.add_after(request, result.requeue_after)
            return "requeue_after"
        log.error("reconcile returned neither a Result nor None; will retry", returned=repr(result))
        self.queue.add_rate_limited(request)
        return "error"

    def _count_worker(self, delta: int) -> None:
        if self.metrics is not None:
            self.metrics.active_workers.labels(self.name).inc(delta)

    def _count(self, kind: str) -> None:
        if self.metrics is None:
            return
        family = (
            self.metrics.terminal_errors if kind == "terminal" else self.metrics.reconcile_timeouts
        )
        family.labels(self.name).inc()

    def _record(self, result: str) -> None:
        if self.metrics is None:
            return
        self.metrics.reconcile_total.labels(self.name, result).inc()
        if result == "error":
            self.metrics.reconcile_errors.labels(self.name).inc()
