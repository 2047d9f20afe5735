"""The downloads in flight on this node, one per model at most.

A download outlives the reconcile that starts it (a large model takes hours, and a
deletion or a spec change must not wait behind it): each runs as its own task, which a
later reconcile may cancel, and which wakes the model's reconcile when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ome.agent.status import ModelRef


@dataclass
class Download:
    fingerprint: str
    task: asyncio.Task[None]


class Downloads:
    def __init__(self, on_done: Callable[[ModelRef], None]) -> None:
        self._running: dict[ModelRef, Download] = {}
        self._on_done = on_done

    def fingerprint(self, ref: ModelRef) -> str | None:
        """What the model's running download is fetching; None when there is none."""
        running = self._running.get(ref)
        return running.fingerprint if running is not None else None

    def start(self, ref: ModelRef, fingerprint: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"download {ref}")
        self._running[ref] = Download(fingerprint, task)
        task.add_done_callback(lambda done: self._finished(ref, done))

    def _finished(self, ref: ModelRef, task: asyncio.Task[None]) -> None:
        running = self._running.get(ref)
        if running is not None and running.task is task:
            del self._running[ref]
            if not task.cancelled():
                self._on_done(ref)

    async def cancel(self, ref: ModelRef) -> None:
        """Stop the model's download and wait until it has stopped."""
        running = self._running.pop(ref, None)
        if running is not None:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)

    async def cancel_all(self) -> None:
        for ref in list(self._running):
            await self.cancel(ref)
