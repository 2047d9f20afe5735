"""Whether the DedicatedAICluster an InferenceService joins (``ome.io/dedicated-ai-cluster``)
can take the service's pods (docs/dedicated-ai-clusters.md).

A DAC that does not exist stops the service (``DedicatedAIClusterNotFound``: nothing is
applied). A DAC whose free reservation holds fewer GPUs than the service's pods still
need is reported (``DedicatedAIClusterFull``); the service is applied all the same, so
that its pods are placed as soon as the DAC frees or grows capacity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ome.serving.components import Component
from ome.serving.dedicated import (
    DAC_ANNOTATION,
    DAC_LABEL,
    DELETING,
    is_live,
    is_placed,
    label_value,
    pod_gpus,
)
from ome.serving.plan import ServingPlan, Workload
from ome.serving.problems import Reason, ServingError

Obj = Mapping[str, Any]


def joined_cluster(plan: ServingPlan) -> str | None:
    """The name of the DAC the service joins, if any."""
    name = (plan.service.metadata.annotations or {}).get(DAC_ANNOTATION)
    return name or None


def needed_gpus(plan: ServingPlan) -> int:
    """The GPUs the service's pods on the DAC request at their minimum scale: the engine's
    and decoder's (the router's pods are not placed on the reservation), per pod times
    ``minReplicas`` (at least one), or per group times the groups of a multi-node one."""
    return sum(_workload_gpus(w) for w in plan.workloads if w.component is not Component.ROUTER)


def _workload_gpus(workload: Workload) -> int:
    if workload.multi_node:
        per_group = pod_gpus({"spec": workload.pod}) + workload.workers * pod_gpus(
            {"spec": workload.worker_pod or {}}
        )
        return workload.groups * per_group
    replicas = workload.spec.get("minReplicas")
    return max(replicas if isinstance(replicas, int) else 1, 1) * pod_gpus({"spec": workload.pod})


def held_gpus(name: str, pods: Iterable[Obj]) -> int:
    """The GPUs the service's pods already hold on the DAC ``name``: those placed there
    took a placeholder's place, so the DAC no longer counts them as available."""
    value = label_value(name)
    return sum(
        pod_gpus(pod)
        for pod in pods
        if is_live(pod)
        and is_placed(pod)
        and ((pod.get("spec") or {}).get("nodeSelector") or {}).get(DAC_LABEL) == value
    )


def dedicated_cluster_fit(
    name: str, dac: Obj | None, needed: int, held: int
) -> ServingError | None:
    """Whether the DAC ``name`` (``dac`` as read, None when it does not exist) can take
    the service's pods, which need ``needed`` GPUs and already hold ``held`` of them there.

    Raises ``ServingError(DedicatedAIClusterNotFound)`` when it does not exist: the
    service is not applied. Returns the ``DedicatedAIClusterFull`` problem, which does not
    stop it, when the GPUs still missing exceed the DAC's ``availableGpu``. Only DELETING
    decides by itself; otherwise the numbers do, whatever the state (the GPUs of
    placeholders already placed are usable while a DAC forms or grows)."""
    if dac is None:
        raise ServingError(
            Reason.DEDICATED_AI_CLUSTER_NOT_FOUND,
            f"DedicatedAICluster {name} (annotation {DAC_ANNOTATION}) does not exist: create "
            "it or remove the annotation; nothing of the service is applied until then",
        )
    missing = needed - held
    if missing <= 0:
        return None
    status = dac.get("status") or {}
    deleting = (dac.get("metadata") or {}).get("deletionTimestamp")
    state = DELETING if deleting else status.get("dacLifecycleState") or "CREATING"
    available = 0 if state == DELETING else _count(status.get("availableGpu"))
    if missing <= available:
        return None
    placed = f", {held} of them placed" if held else ""
    return ServingError(
        Reason.DEDICATED_AI_CLUSTER_FULL,
        f"the service needs {needed} GPUs{placed}; DedicatedAICluster {name} ({state}) has "
        f"{available} available: its pods wait (Pending) until the DAC frees or adds capacity",
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
