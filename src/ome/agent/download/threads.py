"""Long blocking work in a thread of its own that an asyncio cancellation can stop.

A download or a checksum pass may take hours: it gets its own thread rather than one of
the event loop's shared executor, which the short file system calls need.

A thread cannot be killed, so cancellation is cooperative: the work checks a
``threading.Event`` at safe points and raises :class:`Cancelled`. The cancelled caller
waits up to ``grace`` seconds for the thread to stop before its own cancellation goes
through, so that normally nothing writes into a directory after its owner moved on. A
thread blocked on a silent connection cannot check the event; it is left to end by
itself (on the next data or its read timeout) rather than hold the caller up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside the thread once its work was asked to stop."""


def check(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise Cancelled


async def run_cancellable(work: Callable[[threading.Event], T], grace: float = 5.0) -> T:
    """Run ``work(cancel)`` in a new thread; cancelling the caller sets ``cancel``."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[T] = loop.create_future()
    cancel = threading.Event()

    def target() -> None:
        deliver: Callable[[], None]
        try:
            deliver = functools.partial(outcome.set_result, work(cancel))
        except BaseException as err:  # handed to the awaiting task, which raises it
            deliver = functools.partial(outcome.set_exception, err)
        # The loop may be gone if its owner stopped waiting and shut down.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver)

    threading.Thread(target=target, name="ome-agent-work", daemon=True).start()
    try:
        return await asyncio.shield(outcome)
    except asyncio.CancelledError:
        cancel.set()
        await asyncio.wait({outcome}, timeout=grace)
        if outcome.done() and not outcome.cancelled():
            outcome.exception()  # retrieved: the work's own ending is of no interest now
        raise


async def writes_in_thread(work: Callable[[], T], grace: float = 30.0) -> T:
    """Short file-system work that writes (staging, promoting, forgetting): a cancelled
    caller waits for it to end, so a model removed meanwhile is not written back."""
    return await run_cancellable(lambda _cancel: work(), grace=grace)
