"""Whether a component is available, from the object that runs its pods as the
controller observes it: a Deployment (RawDeployment), a LeaderWorkerSet (MultiNode) or a
Knative Service (Serverless: its ``Ready`` condition, see :mod:`ome.serving.knative`),
and the pods that belong to it.

A Deployment is available when its ``Available`` condition is True (its reason and
message are reported as they are). A LeaderWorkerSet is available when its
``Available`` condition is True, as many groups are ready as it asks for, and every pod
of those groups is Ready (the LeaderWorkerSet controller counts a group ready from its
leader while a worker may still wait for a node). Otherwise
the component reports why it waits: ``Unschedulable`` with the scheduler's message when
a pod of a group cannot be placed (a group needs all its pods on nodes at once, so the
message names the resource the cluster lacks, e.g. ``Insufficient nvidia.com/gpu``);
else the LeaderWorkerSet's progress (``GroupsProgressing``, ``GroupsUpdating``) with how
many groups are ready. Upstream copies the ``Available`` condition, whose reason stays
``AllGroupsReady`` after it turns False."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ome.serving import knative
from ome.serving import leaderworkerset as lws
from ome.serving.components import Spec
from ome.serving.metadata import APP_LABEL
from ome.serving.plan import Workload

Condition = tuple[str, str, str]
"""(status, reason, message) of a component's ``{Component}Ready`` condition."""
AVAILABLE = "Available"
UNSCHEDULABLE = "Unschedulable"
_PROGRESS = ("UpdateInProgress", "Progressing")


def workload_available(workload: Workload, observed: Spec | None, pods: Sequence[Spec]) -> bool:
    """Whether the component serves: for ``render_objects``' ``available`` (the Ingress
    waits for the entry component). ``observed`` is the object named by
    ``workload.object_ref`` as read from the cluster, None when absent; ``pods``: the
    service's pods."""
    return workload_condition(workload, observed, pods)[0] == "True"


def workload_condition(
    workload: Workload, observed: Spec | None, pods: Sequence[Spec]
) -> Condition:
    """The component's ready condition. ``pods``: the service's pods (others are ignored)."""
    if observed is None:
        return "False", "Initializing", f"{workload.component} component initializing"
    if workload.multi_node:
        return _groups_condition(workload, observed, pods)
    if workload.serverless:
        return knative.ready_condition(workload, observed)
    found = _condition(observed, AVAILABLE)
    if found is None:
        return "False", "Initializing", f"{workload.component} component initializing"
    return found.get("status", "Unknown"), found.get("reason", ""), found.get("message", "")


def _groups_condition(workload: Workload, observed: Spec, pods: Sequence[Spec]) -> Condition:
    status = observed.get("status") or {}
    wanted = (observed.get("spec") or {}).get("replicas", workload.groups)
    ready = status.get("readyReplicas", 0)
    found = _condition(observed, AVAILABLE)
    mine = workload_pods(workload, pods)
    # the LeaderWorkerSet may count a group ready while its workers are still pending
    pods_ready = sum(1 for p in mine if _pod_ready(p)) >= wanted * workload.group_size
    if found is not None and found.get("status") == "True" and ready >= wanted and pods_ready:
        return "True", found.get("reason", ""), found.get("message", "")
    stuck = unschedulable(mine)
    if stuck is not None:
        return "False", UNSCHEDULABLE, stuck
    progress = [c for kind in _PROGRESS if (c := _condition(observed, kind))]
    current = next((c for c in progress if c.get("status") == "True"), None)
    reason = current.get("reason", "") if current else "Initializing"
    message = (
        f"{ready} of {wanted} groups of {workload.group_size} pods ready "
        f"({workload.component} LeaderWorkerSet {workload.object_ref.name})"
    )
    return "False", reason, message


def _pod_ready(pod: Spec) -> bool:
    conditions: Iterable[Spec] = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _condition(observed: Spec, kind: str) -> Spec | None:
    conditions: Iterable[Spec] = (observed.get("status") or {}).get("conditions") or ()
    return next((c for c in conditions if c.get("type") == kind), None)


def workload_pods(workload: Workload, pods: Iterable[Spec]) -> list[Spec]:
    """The component's pods, by name: a Deployment's by its ``app`` label, every pod of a
    LeaderWorkerSet's groups or of a Knative Service's revisions by the label their
    controller gives them."""
    if workload.multi_node:
        key, value = lws.NAME_LABEL, workload.object_ref.name
    elif workload.serverless:
        key, value = knative.SERVICE_LABEL, workload.name
    else:
        key, value = APP_LABEL, workload.app
    mine = [p for p in pods if (p.get("metadata") or {}).get("labels", {}).get(key) == value]
    return sorted(mine, key=lambda p: str((p.get("metadata") or {}).get("name", "")))


def copies(workload: Workload, pods: Sequence[Spec]) -> int:
    """Copies of the model among the component's pods: one per pod of a Deployment, one
    per group (its leader) of a LeaderWorkerSet."""
    if not workload.multi_node:
        return len(pods)
    return sum(
        1
        for p in pods
        if (p.get("metadata") or {}).get("labels", {}).get(lws.WORKER_INDEX_LABEL) == "0"
    )


def unschedulable(pods: Iterable[Spec]) -> str | None:
    """Why the first pod the scheduler cannot place waits, if one does."""
    for pod in pods:
        conditions = (pod.get("status") or {}).get("conditions") or ()
        for condition in conditions:
            if (
                condition.get("type") == "PodScheduled"
                and condition.get("status") == "False"
                and condition.get("reason") == UNSCHEDULABLE
            ):
                name = (pod.get("metadata") or {}).get("name", "")
                return f"pod {name} cannot be scheduled: {condition.get('message', '')}".strip()
    return None
