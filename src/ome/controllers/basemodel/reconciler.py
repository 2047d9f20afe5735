"""The reconcile of one BaseModel or ClusterBaseModel: finalizer, status from the node
reports, and a deletion that waits for the agents' cleanup, but not forever."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from ome.client import GVK, Client, Conflict, KubeObject, NotFound, ResourceClient
from ome.controllers.basemodel.reports import (
    FAILED,
    READY,
    NodeReport,
    failure_summary,
    model_status,
    pending_cleanup,
    reports,
)
from ome.informers import SharedInformer
from ome.runtime import NORMAL, WARNING, EventRecorder, Request, Result, has_finalizer
from ome.serving.naming import model_status_key

DELETION_TIMEOUT = 600.0
"""Seconds a deleted model waits for the agents before its finalizer goes anyway."""
_RECHECK = 30.0
"""While waiting for the agents: look again at least this often (a node may be gone)."""

log = structlog.get_logger("ome.controllers.basemodel")


def finalizer_for(kind: GVK) -> str:
    """``basemodels.ome.io/finalizer`` or ``clusterbasemodels.ome.io/finalizer``."""
    return f"{kind.kind.lower()}s.{kind.group}/finalizer"


@dataclass
class ModelReconciler:
    """Reconciles one model kind; the stores are informer caches of the models, of the
    agents' status ConfigMaps (label-selected) and of the nodes (metadata only)."""

    kind: GVK
    client: Client
    models: SharedInformer
    configmaps: SharedInformer
    nodes: SharedInformer
    recorder: EventRecorder
    status_namespace: str
    deletion_timeout: float = DELETION_TIMEOUT
    status_key: Callable[[str, str | None], str] = model_status_key
    """A model's data key in the status ConfigMaps, from its name and namespace."""

    def __post_init__(self) -> None:
        self.finalizer = finalizer_for(self.kind)
        self._resource: ResourceClient[KubeObject] | None = None

    async def __call__(self, request: Request) -> Result | None:
        model = self.models.store.get(str(request))
        if model is None:
            return None
        found = reports(
            self.status_key(request.name, request.namespace or None),
            (
                cm
                for cm in self.configmaps.store.list()
                if cm["metadata"].get("namespace") == self.status_namespace
            ),
            (node["metadata"]["name"] for node in self.nodes.store.list()),
        )
        if model["metadata"].get("deletionTimestamp"):
            return await self._finish_deletion(model, pending_cleanup(found))
        if not has_finalizer(model, self.finalizer):
            finalizers = [*(model["metadata"].get("finalizers") or []), self.finalizer]
            model = await self._patch_finalizers(model, finalizers)
        status = self.status(model, found)
        current = model.get("status") or {}
        if any(current.get(field) != value for field, value in status.items()):
            await self._write_status(model, status)
            self.announce(model, current, status, failure_summary(found))
        return None

    def status(self, model: KubeObject, found: list[NodeReport]) -> dict[str, Any]:
        """The status to write (every field it names is compared with the current one)."""
        return model_status(found)

    async def _finish_deletion(self, model: KubeObject, pending: list[str]) -> Result | None:
        if not has_finalizer(model, self.finalizer):
            return None
        waited = _seconds_since(model["metadata"]["deletionTimestamp"])
        if pending and waited < self.deletion_timeout:
            log.info("waiting for model agents to clean up", nodes=pending)
            return Result(requeue_after=min(_RECHECK, self.deletion_timeout - waited))
        if pending:
            self.recorder.event(
                model,
                WARNING,
                "CleanupTimedOut",
                f"deleted after {self.deletion_timeout:.0f}s without cleanup confirmed on "
                f"node(s) {', '.join(pending)}; their files and labels may remain",
            )
        finalizers = [f for f in model["metadata"].get("finalizers") or [] if f != self.finalizer]
        await self._patch_finalizers(model, finalizers)
        return None

    def announce(
        self, model: KubeObject, current: KubeObject, status: KubeObject, failures: str
    ) -> None:
        """Events on a change of state."""
        before, after = current.get("state"), status["state"]
        if after == before:
            return
        if after == READY:
            ready = ", ".join((model.get("status") or {}).get("nodesReady") or [])
            self.recorder.event(model, NORMAL, "ModelReady", f"ready on node(s) {ready}".strip())
        elif after == FAILED:
            self.recorder.event(model, WARNING, "ModelFailed", failures or "failed on every node")

    async def _models(self) -> ResourceClient[KubeObject]:
        if self._resource is None:
            self._resource = await self.client.resource(self.kind)
        return self._resource

    async def _patch_finalizers(self, model: KubeObject, finalizers: list[str]) -> KubeObject:
        meta = model["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            updated: KubeObject = await (await self._models()).patch(
                meta["name"], patch, meta.get("namespace")
            )
        except NotFound:
            return model
        return updated

    async def _write_status(self, model: KubeObject, status: dict[str, Any]) -> None:
        meta = model["metadata"]
        # Gone, or changed under us: the watch brings the next version.
        with contextlib.suppress(NotFound, Conflict):
            await (await self._models()).patch_status(
                meta["name"], {"status": status}, meta.get("namespace")
            )


def _seconds_since(timestamp: str) -> float:
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return max((datetime.now(UTC) - then).total_seconds(), 0.0)
