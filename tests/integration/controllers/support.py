"""The InferenceService controller running in-process, for the controller tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from ome.controllers.inferenceservice import setup
from ome.runtime import Manager, ManagerOptions
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT
from tests.integration.helpers import refused_nothing


@contextlib.asynccontextmanager
async def running_controller(
    cluster: Cluster, namespace: str | None, workers: int
) -> AsyncIterator[Manager]:
    """A manager with the InferenceService controller, watching ``namespace`` (None:
    all), until exit."""
    async with running_manager(cluster, namespace, lambda m: setup(m, workers=workers)) as m:
        yield m


@contextlib.asynccontextmanager
async def running_manager(
    cluster: Cluster, namespace: str | None, *setups: Callable[[Manager], object]
) -> AsyncIterator[Manager]:
    """A manager with the controllers that ``setups`` register, watching ``namespace``
    (None: all), until exit.

    It acts as the operator's ServiceAccount under the shipped RBAC, as in its
    Deployment; the tests' own reads and writes stay admin. Where the API server keeps
    an audit log, a clean exit also asserts that it was refused nothing."""
    options = ManagerOptions(
        namespace=namespace,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        handle_signals=False,
    )
    with refused_nothing(cluster, MANAGER_ACCOUNT):
        client = await cluster.operator_client()
        manager = Manager(client, options)
        for register in setups:
            register(manager)
        try:
            async with manager.running():
                yield manager
        finally:
            await client.close()
