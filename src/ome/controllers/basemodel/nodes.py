"""Removes the status ConfigMap of a node that no longer exists, so a node that is gone
(scaled down, replaced) leaves nothing behind that looks like a report."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from ome.client import Client, Conflict, NotFound
from ome.controllers.kinds import CONFIGMAP
from ome.informers import SharedInformer
from ome.runtime import Request

log = structlog.get_logger("ome.controllers.basemodel")


@dataclass
class NodeStatusCleanup:
    """Keyed by node name; ``nodes`` and ``configmaps`` are informer caches."""

    client: Client
    nodes: SharedInformer
    configmaps: SharedInformer
    status_namespace: str

    async def __call__(self, request: Request) -> None:
        if self.nodes.store.get(request.name) is not None:
            return
        configmap = self.configmaps.store.get(f"{self.status_namespace}/{request.name}")
        if configmap is None:
            return
        configmaps = await self.client.resource(CONFIGMAP)
        try:
            await configmaps.delete(
                request.name,
                self.status_namespace,
                preconditions={"uid": configmap["metadata"]["uid"]},
            )
        except (NotFound, Conflict):
            return
        log.info("removed the status of a deleted node", node=request.name)
