"""The reconcile of one AcceleratorClass: finalizer, then the status computed by
:func:`ome.serving.accelerator_inventory.class_status`, written when it changed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from ome.client import Client, Conflict, KubeObject, NotFound, ResourceClient
from ome.controllers.kinds import ACCELERATORCLASS
from ome.informers import SharedInformer
from ome.runtime import NORMAL, WARNING, EventRecorder, Request, Result, has_finalizer
from ome.runtime.conditions import now_rfc3339
from ome.serving.accelerator_inventory import AVAILABLE, READY_CONDITION, class_status

FINALIZER = "acceleratorclasses.ome.io/finalizer"
"""Upstream's (``pkg/constants``): added on the first reconcile, removed on deletion."""


@dataclass
class AcceleratorClassReconciler:
    """The stores are informer caches of the classes, the nodes and the pods bound to a
    node and not finished."""

    client: Client
    classes: SharedInformer
    nodes: SharedInformer
    pods: SharedInformer
    recorder: EventRecorder

    def __post_init__(self) -> None:
        self._resource: ResourceClient[KubeObject] | None = None

    async def __call__(self, request: Request) -> Result | None:
        found = self.classes.store.get(str(request))
        if found is None:
            return None
        if found["metadata"].get("deletionTimestamp"):
            if has_finalizer(found, FINALIZER):
                kept = [f for f in found["metadata"].get("finalizers") or [] if f != FINALIZER]
                await self._patch_finalizers(found, kept)
            return None
        if not has_finalizer(found, FINALIZER):
            finalizers = [*(found["metadata"].get("finalizers") or []), FINALIZER]
            found = await self._patch_finalizers(found, finalizers)
        status = class_status(found, self.nodes.store.list(), self.pods.store.list(), now_rfc3339())
        current = found.get("status") or {}
        if any(current.get(k) != v for k, v in status.items()):
            await self._write_status(found, status)
            self._announce(found, current, status)
        return None

    def _announce(self, found: KubeObject, current: KubeObject, status: KubeObject) -> None:
        """An Event when the Ready reason changes (not on every count)."""
        (after,) = status["conditions"]
        before: KubeObject = next(
            (c for c in current.get("conditions") or [] if c.get("type") == READY_CONDITION), {}
        )
        if before.get("reason") == after["reason"]:
            return
        kind = NORMAL if after["reason"] == AVAILABLE else WARNING
        self.recorder.event(found, kind, after["reason"], after["message"])

    async def _classes(self) -> ResourceClient[KubeObject]:
        if self._resource is None:
            self._resource = await self.client.resource(ACCELERATORCLASS)
        return self._resource

    async def _patch_finalizers(self, found: KubeObject, finalizers: list[str]) -> KubeObject:
        meta = found["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            updated: KubeObject = await (await self._classes()).patch(meta["name"], patch)
        except NotFound:
            return found
        return updated

    async def _write_status(self, found: KubeObject, status: dict[str, Any]) -> None:
        # Gone, or changed under us: the watch brings the next version.
        with contextlib.suppress(NotFound, Conflict):
            await (await self._classes()).patch_status(
                found["metadata"]["name"], {"status": status}
            )
