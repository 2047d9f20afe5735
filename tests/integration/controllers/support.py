"""The InferenceService controller running in-process, for the controller tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ome.controllers.inferenceservice import setup
from ome.runtime import Manager, ManagerOptions
from ome.testing.pytest_plugin import Cluster


@contextlib.asynccontextmanager
async def running_controller(
    cluster: Cluster, namespace: str | None, workers: int
) -> AsyncIterator[Manager]:
    """A manager with the controller, watching ``namespace`` (None: all), until exit."""
    options = ManagerOptions(
        namespace=namespace,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        handle_signals=False,
    )
    manager = Manager(await cluster.client(), options)
    setup(manager, workers=workers)
    task = asyncio.create_task(manager.run())
    try:
        yield manager
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
