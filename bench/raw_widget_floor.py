"""The floor for e2e_throughput.py: no informers, no queue — list the Widgets once and do
each one's two writes (apply its ConfigMap, apply its status) at a fixed concurrency."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from widget_operator import FIELD_MANAGER, WIDGET, desired_configmap, ready_status

from ome.client import GVK, Client, load_configuration

CONFIGMAP = GVK("", "v1", "ConfigMap")


async def main(namespace: str, workers: int) -> None:
    async with Client(await load_configuration(os.environ["KUBECONFIG"])) as client:
        widgets = await client.resource(WIDGET)
        configmaps = await client.resource(CONFIGMAP)
        limit = asyncio.Semaphore(workers)

        async def reconcile(widget: dict[str, object]) -> None:
            async with limit:
                await configmaps.apply(
                    desired_configmap(widget), field_manager=FIELD_MANAGER, force=True
                )
                await widgets.apply_status(
                    ready_status(widget), field_manager=FIELD_MANAGER, force=True
                )

        await asyncio.gather(*(reconcile(w) for w in await widgets.list(namespace)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
