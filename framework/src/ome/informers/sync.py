"""Waiting for informers to sync, and saying why they do not.

A wait ends in one of three ways: every informer synced; one of them failed, during the
wait, in a way only a fix can cure (a resource the server does not serve, a selector it
rejects, RBAC that forbids the list: see ``errors.NEEDS_A_FIX``) and the wait raises at
once with that error; or the timeout passed and the wait raises with each informer's
latest error. Either way the informers keep retrying, so a caller who fixed the cause
can simply wait again. Only attempts begun during the wait count for the early exit: a
second wait after a fix must not trip over the error that prompted it, nor over an
attempt that was already on its way to failing when the fix landed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from ome.informers.errors import CacheSyncError, describe, needs_a_fix
from ome.informers.shared_informer import SharedInformer

POLL_INTERVAL = 0.1  # client-go polls as often


async def wait_for_cache_sync(
    informers: Sequence[SharedInformer], timeout: float | None = 120.0
) -> None:
    """Return once every informer has synced; raise :class:`CacheSyncError` otherwise."""
    deadline = None if timeout is None else time.monotonic() + timeout
    attempts_before = {informer: informer.reflector.attempts for informer in informers}
    while True:
        waiting = [informer for informer in informers if not informer.has_synced]
        if not waiting:
            return
        broken = [
            informer
            for informer in waiting
            if informer.reflector.failed_attempt > attempts_before[informer]
            and needs_a_fix(informer.last_error)
        ]
        if broken:
            raise _error("cannot sync", broken)
        if deadline is not None and time.monotonic() >= deadline:
            raise _error(f"not synced after {timeout:g}s", waiting)
        await asyncio.sleep(POLL_INTERVAL)


def _error(summary: str, informers: Sequence[SharedInformer]) -> CacheSyncError:
    lines = [
        f"{informer.name}: "
        + (describe(informer.last_error) if informer.last_error else "no error reported")
        for informer in informers
    ]
    return CacheSyncError(
        f"informers {summary} (still retrying): " + "; ".join(lines),
        {informer.name: informer.last_error for informer in informers},
    )
