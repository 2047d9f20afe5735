"""Delivery of an informer's events to one handler (client-go's ``processorListener``).

Each registration has its own unbounded buffer and its own task: the informer appends and
never waits, so a handler that takes a second per event delays nobody but itself. Events
reach a handler in the order the informer saw them. A handler may be a plain function or
a coroutine function; an exception in it is logged and the next event delivered. (A
plain function that blocks still blocks the whole event loop: make slow handlers async.)
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog

from ome.client import KubeObject

log = structlog.get_logger("ome.informers")

# Plain handlers run back to back; give the loop back after this many of them so that a
# large initial list does not hold up everything else.
YIELD_EVERY = 100


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A delete the informer only inferred, because a relist no longer had the object;
    ``obj`` is its last known state, which may be stale."""

    key: str
    obj: KubeObject


AddHandler = Callable[[KubeObject], Awaitable[None] | None]
UpdateHandler = Callable[[KubeObject, KubeObject], Awaitable[None] | None]
DeleteHandler = Callable[[KubeObject | DeletedFinalStateUnknown], Awaitable[None] | None]


class _Kind(Enum):
    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    SYNCED = "synced"  # every object of the informer's initial state is ahead of this


_Notification = tuple[_Kind, Any, Any]


class Registration:
    """One handler registered with an informer; ``remove()`` unregisters it.

    State:
        _buffer       notifications not yet delivered, oldest first.
        _wakeup       set when the buffer gains something while the task waits.
        _synced       the handler has been given the informer's whole initial state.
        _task         the delivery task while the informer runs.
        _next_resync  loop time of this handler's next resync; None without a period.
    """

    def __init__(
        self,
        on_add: AddHandler | None,
        on_update: UpdateHandler | None,
        on_delete: DeleteHandler | None,
        *,
        resync_period: float | None,
        on_remove: Callable[[Registration, asyncio.Task[None] | None], None],
        name: str,
    ) -> None:
        self._on_add = on_add
        self._on_update = on_update
        self._on_delete = on_delete
        self.resync_period = resync_period
        self._next_resync: float | None = None
        self._on_remove = on_remove
        self._name = name
        self._buffer: deque[_Notification] = deque()
        self._wakeup = asyncio.Event()
        self._synced = False
        self._removed = False
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Registration {self._name} pending={len(self._buffer)} synced={self._synced}>"

    @property
    def has_synced(self) -> bool:
        """True once the handler has been called for every object of the informer's
        initial state (or, added later, for every object cached when it was added)."""
        return self._synced

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def remove(self) -> None:
        """Stop delivering to this handler; events not yet delivered are dropped."""
        if not self._removed:
            self._removed = True
            self._buffer.clear()
            self._on_remove(self, self.stop())

    # -- the informer's side ---------------------------------------------------------

    def add(self, obj: KubeObject) -> None:
        self._push((_Kind.ADD, obj, None))

    def update(self, old: KubeObject, new: KubeObject) -> None:
        self._push((_Kind.UPDATE, old, new))

    def delete(self, obj: KubeObject | DeletedFinalStateUnknown) -> None:
        self._push((_Kind.DELETE, obj, None))

    def schedule_resync(self, now: float) -> None:
        if self.resync_period is not None:
            self._next_resync = now + self.resync_period

    def due_for_resync(self, now: float) -> bool:
        return self._next_resync is not None and self._next_resync <= now

    @property
    def next_resync(self) -> float | None:
        return self._next_resync

    def mark_synced(self) -> None:
        self._push((_Kind.SYNCED, None, None))

    def _push(self, notification: _Notification) -> None:
        if not self._removed:
            self._buffer.append(notification)
            self._wakeup.set()

    def start(self) -> None:
        if self._task is None and not self._removed:
            self._task = asyncio.create_task(self._deliver(), name=f"informer-handler {self._name}")
            self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        # Delivery only ends by cancellation; anything else leaves a handler blind.
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "event delivery stopped by a bug",
                informer=self._name,
                exc_info=task.exception(),
            )

    def stop(self) -> asyncio.Task[None] | None:
        """Cancel delivery; returns the task to await, if one was running."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        return task

    # -- delivery --------------------------------------------------------------------

    async def _deliver(self) -> None:
        in_a_row = 0
        while True:
            if not self._buffer:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            kind, first, second = self._buffer.popleft()
            if kind is _Kind.SYNCED:
                self._synced = True
                continue
            if await self._call(kind, first, second):
                in_a_row = 0
            else:
                in_a_row += 1
                if in_a_row >= YIELD_EVERY:
                    in_a_row = 0
                    await asyncio.sleep(0)

    async def _call(self, kind: _Kind, first: Any, second: Any) -> bool:
        """Run the handler for one notification; True if it awaited (gave the loop back)."""
        try:
            if kind is _Kind.ADD:
                result = self._on_add(first) if self._on_add else None
            elif kind is _Kind.UPDATE:
                result = self._on_update(first, second) if self._on_update else None
            else:
                result = self._on_delete(first) if self._on_delete else None
            if inspect.isawaitable(result):
                await result
                return True
        except Exception:  # a handler's bug must not stop delivery to it
            log.exception("event handler failed", informer=self._name, notification=kind.value)
        return False
