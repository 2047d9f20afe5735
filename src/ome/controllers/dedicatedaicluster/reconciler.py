"""The reconcile of one DedicatedAICluster: finalizer, PriorityClasses, the placeholder
Deployment sized to what the workloads leave, node labels, status; on deletion the
placeholders and labels go and the workloads stay, with an Event."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from ome.client import (
    Client,
    Conflict,
    KubeObject,
    NotFound,
    delete_preconditions,
    fenced,
    version_of,
)
from ome.controllers.kinds import DEDICATEDAICLUSTER, DEPLOYMENT, NODE, PRIORITYCLASS
from ome.informers import SharedInformer
from ome.runtime import NORMAL, WARNING, EventRecorder, Request, Result, has_finalizer
from ome.serving.dedicated import (
    ACTIVE,
    DAC_LABEL,
    FAILED,
    FAILURE_THRESHOLD,
    DacProblem,
    Reservation,
    dac_status,
    deleting_status,
    is_live,
    is_placeholder,
    label_value,
    needs_apply,
    node_label_changes,
    placeholder_deployment,
    placeholder_name,
    priority_classes,
    profile_name,
    resolve,
    wanted_placeholders,
)

FINALIZER = "dedicatedaiclusters.ome.io/finalizer"
FIELD_MANAGER = "ome-controller"
POD_INDEX = "dac"
"""Index of the DACs' pods (placeholders and workloads) by their DAC label value."""

log = structlog.get_logger("ome.controllers.dedicatedaicluster")


@dataclass
class DedicatedAIClusterReconciler:
    """The stores are informer caches: DACs, profiles, the placeholder Deployments (in
    ``namespace``), the DACs' pods (label-selected, every namespace) and the nodes
    (metadata only)."""

    client: Client
    dacs: SharedInformer
    profiles: SharedInformer
    deployments: SharedInformer
    pods: SharedInformer
    nodes: SharedInformer
    recorder: EventRecorder
    namespace: str
    threshold: float = FAILURE_THRESHOLD
    _classes_applied: bool = field(default=False, init=False)

    async def __call__(self, request: Request) -> Result | None:
        dac = self.dacs.store.get(request.name)
        if dac is None:
            return None
        if dac["metadata"].get("deletionTimestamp"):
            await self._release(dac)
            return None
        if not has_finalizer(dac, FINALIZER):
            dac = await self._patch_finalizers(
                dac, [*dac["metadata"].get("finalizers", []), FINALIZER]
            )
        name = dac["metadata"]["name"]
        pods = self.pods.store.by_index(POD_INDEX, label_value(name))
        placeholders = [
            p
            for p in pods
            if is_placeholder(p) and p["metadata"].get("namespace") == self.namespace
        ]
        workloads = [p for p in pods if not is_placeholder(p)]
        profile = self.profiles.store.get(profile_name(dac) or "")
        try:
            units, unit = resolve(dac, profile)
        except DacProblem as problem:
            outcome = dac_status(dac, problem, now=datetime.now(UTC), threshold=self.threshold)
        else:
            await self._ensure_priority_classes()
            wanted = wanted_placeholders(units, unit, workloads)
            desired = placeholder_deployment(
                name, dac["metadata"]["uid"], self.namespace, unit, wanted
            )
            live = self.deployments.store.get(f"{self.namespace}/{placeholder_name(name)}")
            if needs_apply(desired, live):
                resource = await self.client.resource(DEPLOYMENT)
                # over the version the cache showed: a deposed leader's late write is refused
                body = fenced(desired, version_of(live))
                await resource.apply(body, field_manager=FIELD_MANAGER, force=True)
            reservation = Reservation(units, unit, wanted, placeholders, workloads)
            await self._label_nodes(name, reservation.nodes)
            outcome = dac_status(dac, reservation, now=datetime.now(UTC), threshold=self.threshold)
        await self._write_status(dac, outcome.status)
        return Result(requeue_after=outcome.requeue_after) if outcome.requeue_after else None

    async def _ensure_priority_classes(self) -> None:
        """Once per process: they are shared, and nothing else changes them."""
        if self._classes_applied:
            return
        resource = await self.client.resource(PRIORITYCLASS)
        for klass in priority_classes():
            with contextlib.suppress(Conflict):
                # value and preemptionPolicy are immutable: a class made by hand with
                # other values is left alone (and shown by ome status dac).
                await resource.apply(klass, field_manager=FIELD_MANAGER, force=True)
        self._classes_applied = True

    async def _label_nodes(self, name: str, holding: list[str]) -> None:
        add, remove = node_label_changes(name, holding, self.nodes.store.list())
        if not (add or remove):
            return
        resource = await self.client.resource(NODE)
        changes = [(node, label_value(name)) for node in add] + [(node, None) for node in remove]
        for node, value in changes:
            with contextlib.suppress(NotFound):
                # over the version the cache shows, as every write to an existing object
                patch = {"metadata": {"labels": {DAC_LABEL: value}}}
                await resource.patch(node, fenced(patch, version_of(self.nodes.store.get(node))))

    async def _write_status(self, dac: KubeObject, status: dict[str, Any]) -> None:
        current = dac.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return
        with contextlib.suppress(NotFound, Conflict):
            resource = await self.client.resource(DEDICATEDAICLUSTER)
            await resource.patch_status(
                dac["metadata"]["name"], fenced({"status": status}, version_of(dac))
            )
        self._announce(dac, current, status)

    def _announce(self, dac: KubeObject, current: KubeObject, status: KubeObject) -> None:
        (condition,) = status["conditions"]
        before: KubeObject = next(
            (c for c in current.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        if (before.get("reason"), current.get("dacLifecycleState")) == (
            condition["reason"],
            status["dacLifecycleState"],
        ):
            return
        if status["dacLifecycleState"] == ACTIVE:
            self.recorder.event(dac, NORMAL, condition["reason"], condition["message"])
        elif status["dacLifecycleState"] == FAILED:
            self.recorder.event(dac, WARNING, condition["reason"], condition["message"])

    async def _release(self, dac: KubeObject) -> None:
        """Deletion: placeholders and node labels go; the workloads stay, told by an Event."""
        if not has_finalizer(dac, FINALIZER):
            return
        name = dac["metadata"]["name"]
        if (dac.get("status") or {}).get("dacLifecycleState") != "DELETING":
            with contextlib.suppress(NotFound, Conflict):
                resource = await self.client.resource(DEDICATEDAICLUSTER)
                await resource.patch_status(
                    name,
                    fenced({"status": deleting_status(dac, datetime.now(UTC))}, version_of(dac)),
                )
        with contextlib.suppress(NotFound):
            deployments = await self.client.resource(DEPLOYMENT)
            live = self.deployments.store.get(f"{self.namespace}/{placeholder_name(name)}")
            await deployments.delete(
                placeholder_name(name),
                self.namespace,
                propagation_policy="Background",
                preconditions=delete_preconditions(live) if live else None,
            )
        await self._label_nodes(name, [])
        workloads = [
            p
            for p in self.pods.store.by_index(POD_INDEX, label_value(name))
            if not is_placeholder(p) and is_live(p)
        ]
        if workloads:
            listed = ", ".join(
                sorted(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in workloads)
            )
            self.recorder.event(
                dac,
                WARNING,
                "ReservationReleased",
                f"{len(workloads)} workload pod(s) keep running without a reservation: {listed}",
            )
        finalizers = [f for f in dac["metadata"].get("finalizers") or [] if f != FINALIZER]
        await self._patch_finalizers(dac, finalizers)

    async def _patch_finalizers(self, dac: KubeObject, finalizers: list[str]) -> KubeObject:
        meta = dac["metadata"]
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        try:
            resource = await self.client.resource(DEDICATEDAICLUSTER)
            updated: KubeObject = await resource.patch(meta["name"], patch)
        except NotFound:
            return dac
        return updated
