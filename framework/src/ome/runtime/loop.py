"""The event loop an operator process runs on.

    sys.exit(ome.runtime.loop.run(main()))

uvloop's loop (libuv) when it is installed (``pip install ome-framework[uvloop]``):
a controller spends much of its CPU in the loop itself (sockets, callbacks, timers), and
there uvloop costs less than asyncio's pure-Python loop. Without it, or with
``OME_EVENT_LOOP=asyncio``, the standard loop.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

LOOP_ENV = "OME_EVENT_LOOP"
LOOPS = ("uvloop", "asyncio")


class UnknownLoop(ValueError):
    """``OME_EVENT_LOOP`` names no loop this module knows."""


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor when installed and not turned off; None: asyncio's."""
    chosen = os.environ.get(LOOP_ENV, "uvloop")
    if chosen not in LOOPS:
        raise UnknownLoop(f"{LOOP_ENV}={chosen!r}: one of {', '.join(LOOPS)}")
    if chosen == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")  # an optional extra
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new loop (see the module), as ``asyncio.run``."""
    try:
        factory = loop_factory()
    except UnknownLoop:
        main.close()  # never to run: no "never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
