"""DedicatedAIClusters, as pure functions: a DAC's unit from its profile and overrides,
the placeholder Deployment that holds its capacity, the PriorityClasses, the node labels
and the status from the placeholders' and workloads' pods (docs/dedicated-ai-clusters.md)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ome.serving.naming import truncate_name

DAC_ANNOTATION = "ome.io/dedicated-ai-cluster"
"""Upstream's annotation by which a workload joins a DAC."""
DAC_LABEL = "ome.io/dedicated-ai-cluster"
"""On every pod of a DAC (placeholders and workloads) and on the nodes holding it."""
PLACEHOLDER_LABEL = "ome.io/dac-placeholder"
APPLIED_ANNOTATION = "ome.io/dac-applied"
"""A digest of the placeholder Deployment as last applied: unchanged, it is not applied."""
RESERVATION_CLASS = "ome-dac-reservation"
RESERVATION_PRIORITY = 1_000_000
WORKLOAD_CLASS = "ome-dac-workload"
WORKLOAD_PRIORITY = RESERVATION_PRIORITY + 1
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
HOSTNAME = "kubernetes.io/hostname"
FAILURE_THRESHOLD = 60.0
"""Seconds placeholders may stay Unschedulable before the DAC is FAILED."""

CREATING, ACTIVE, UPDATING, FAILED, DELETING = (
    "CREATING",
    "ACTIVE",
    "UPDATING",
    "FAILED",
    "DELETING",
)
READY_CONDITION = "Ready"
RESERVED, RESERVING = "Reserved", "Reserving"
PROFILE_NOT_FOUND, PROFILE_DISABLED = "ProfileNotFound", "ProfileDisabled"
INVALID_SPEC, NOT_ENOUGH_RESOURCES = "InvalidSpec", "NotEnoughResources"

Obj = Mapping[str, Any]


class DacProblem(Exception):
    """The DAC cannot be reserved as written; ``reason`` is its condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Unit:
    """One unit of a DAC: ``pods`` pods of ``resources`` each, placed as given."""

    pods: int
    resources: dict[str, Any]
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: dict[str, Any] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    priority_class_name: str = WORKLOAD_CLASS

    @property
    def gpus_per_pod(self) -> int:
        return gpus_of(self.resources)


def label_value(name: str) -> str:
    """The DAC's name as a label value (63 characters at most)."""
    return truncate_name(name)


def profile_name(dac: Obj) -> str | None:
    name = (dac.get("spec") or {}).get("profile")
    return str(name) if name else None


def resolve(dac: Obj, profile: Obj | None) -> tuple[int, Unit]:
    """The DAC's unit count and unit: the profile's fields, each replaced by the DAC's
    own where it sets it. Raises :class:`DacProblem` when it cannot be reserved."""
    spec = dac.get("spec") or {}
    name = profile_name(dac)
    base: Obj = {}
    if name is not None:
        if profile is None:
            raise DacProblem(PROFILE_NOT_FOUND, f"DedicatedAIClusterProfile {name} does not exist")
        base = profile.get("spec") or {}
        if base.get("disabled"):
            raise DacProblem(PROFILE_DISABLED, f"DedicatedAIClusterProfile {name} is disabled")
    units = spec.get("count")
    if not isinstance(units, int) or units <= 0:
        raise DacProblem(
            INVALID_SPEC, f"spec.count must be a positive number of units, not {units}"
        )
    pods = base.get("count", 1) if name is not None else 1
    if not isinstance(pods, int) or pods <= 0:
        raise DacProblem(
            INVALID_SPEC, f"profile {name}: spec.count (pods per unit) must be positive, not {pods}"
        )

    def field_(key: str) -> Any:
        return spec[key] if spec.get(key) is not None else base.get(key)

    resources = field_("resources") or {}
    if not (resources.get("requests") or resources.get("limits")):
        raise DacProblem(INVALID_SPEC, "no resources: set spec.resources on the DAC or its profile")
    return units, Unit(
        pods=pods,
        resources=dict(resources),
        node_selector=dict(field_("nodeSelector") or {}),
        affinity=dict(field_("affinity") or {}),
        tolerations=list(field_("tolerations") or []),
        priority_class_name=field_("priorityClassName") or WORKLOAD_CLASS,
    )


def gpus_of(resources: Obj) -> int:
    """GPUs of a container's resources (any ``*/gpu`` resource; limits, else requests)."""
    amounts = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    return sum(_count(v) for k, v in amounts.items() if str(k).endswith("/gpu"))


def _count(quantity: Any) -> int:
    try:
        return int(str(quantity))
    except ValueError:
        return 0


def pod_gpus(pod: Obj) -> int:
    return sum(
        gpus_of(c.get("resources") or {}) for c in (pod.get("spec") or {}).get("containers") or []
    )


def is_live(pod: Obj) -> bool:
    """Neither finished nor being deleted."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def is_placed(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def held_node(pod: Obj) -> str | None:
    """The node a pod holds capacity on: the one it is bound to until it has finished
    (terminating included: it runs there until it is gone), else the one the scheduler
    nominated it to (its victims are being evicted for it there)."""
    if is_placed(pod):
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        return None if finished else str(pod["spec"]["nodeName"])
    if not is_live(pod):
        return None
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    return str(nominated) if nominated else None


def is_placeholder(pod: Obj) -> bool:
    return ((pod.get("metadata") or {}).get("labels") or {}).get(PLACEHOLDER_LABEL) == "true"


def occupied_pods(unit: Unit, workloads: Iterable[Obj]) -> int:
    """The unit pods' worth of capacity the placed workload pods hold, node by node: a
    workload that took part of a placeholder's place on a node took all of it."""
    placed = [p for p in workloads if is_live(p) and is_placed(p)]
    if not unit.gpus_per_pod:
        return len(placed)
    per_node: dict[str, int] = {}
    for pod in placed:
        node = pod["spec"]["nodeName"]
        per_node[node] = per_node.get(node, 0) + pod_gpus(pod)
    return sum(math.ceil(gpus / unit.gpus_per_pod) for gpus in per_node.values())


def wanted_placeholders(units: int, unit: Unit, workloads: Iterable[Obj]) -> int:
    return max(units * unit.pods - occupied_pods(unit, workloads), 0)


def capacity_refusal(units: int, unit: Unit, allocated_gpu: int) -> str | None:
    """Why ``units`` cannot hold what the DAC's workloads already use, if it cannot."""
    capacity = units * unit.pods * unit.gpus_per_pod
    if unit.gpus_per_pod and capacity < allocated_gpu:
        return (
            f"spec.count {units}: {units} unit(s) hold {capacity} GPUs, but the DAC's "
            f"workloads hold {allocated_gpu}; free them first or keep count >= "
            f"{math.ceil(allocated_gpu / (unit.pods * unit.gpus_per_pod))}"
        )
    return None


def placeholder_name(name: str) -> str:
    """The placeholder Deployment's name (room left for the ReplicaSet and pod suffixes)."""
    return truncate_name(f"dac-{name}", 47)


def priority_classes() -> list[dict[str, Any]]:
    def klass(name: str, value: int, policy: str, what: str) -> dict[str, Any]:
        return {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "ome"}},
            "value": value,
            "preemptionPolicy": policy,
            "globalDefault": False,
            "description": what,
        }

    return [
        klass(
            RESERVATION_CLASS,
            RESERVATION_PRIORITY,
            "Never",
            "Placeholders of DedicatedAIClusters: above ordinary workloads, never evicting.",
        ),
        klass(
            WORKLOAD_CLASS,
            WORKLOAD_PRIORITY,
            "PreemptLowerPriority",
            "Workloads of DedicatedAIClusters: they take their DAC's placeholders' place.",
        ),
    ]


def with_dedicated_cluster(pod: dict[str, Any], annotations: Mapping[str, str]) -> dict[str, Any]:
    """A workload's pod spec made to use the reservation of the DAC its annotations
    name: on the DAC's nodes, at the workload priority (unless the pod names a class)."""
    dac = annotations.get(DAC_ANNOTATION)
    if not dac:
        return pod
    selector = {**(pod.get("nodeSelector") or {}), DAC_LABEL: label_value(dac)}
    placed = {**pod, "nodeSelector": dict(sorted(selector.items()))}
    placed.setdefault("priorityClassName", WORKLOAD_CLASS)
    return placed


def placeholder_deployment(
    name: str, uid: str, namespace: str, unit: Unit, replicas: int
) -> dict[str, Any]:
    """The Deployment of placeholder pods, owned by the DAC, with a digest of itself."""
    value = label_value(name)
    labels = {DAC_LABEL: value, PLACEHOLDER_LABEL: "true"}
    affinity = dict(unit.affinity)
    anti = dict(affinity.get("podAntiAffinity") or {})
    # No node holds two DACs: a placeholder avoids nodes with another DAC's pods.
    anti["requiredDuringSchedulingIgnoredDuringExecution"] = [
        *(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []),
        {
            "labelSelector": {
                "matchExpressions": [
                    {"key": DAC_LABEL, "operator": "Exists"},
                    {"key": DAC_LABEL, "operator": "NotIn", "values": [value]},
                ]
            },
            "namespaceSelector": {},
            "topologyKey": HOSTNAME,
        },
    ]
    affinity["podAntiAffinity"] = anti
    pod: dict[str, Any] = {
        "priorityClassName": RESERVATION_CLASS,
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "containers": [
            {
                "name": "placeholder",
                "image": PAUSE_IMAGE,
                "resources": unit.resources,
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "runAsNonRoot": True,
                    "runAsUser": 65535,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "affinity": affinity,
    }
    if unit.node_selector:
        pod["nodeSelector"] = unit.node_selector
    if unit.tolerations:
        pod["tolerations"] = unit.tolerations
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": placeholder_name(name),
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": "ome.io/v1beta1",
                    "kind": "DedicatedAICluster",
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            # Placeholders hold nothing worth a rolling update's surge.
            "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
    digest = hashlib.sha256(json.dumps(deployment, sort_keys=True).encode()).hexdigest()[:16]
    deployment["metadata"]["annotations"] = {APPLIED_ANNOTATION: digest}
    return deployment


def needs_apply(desired: Obj, live: Obj | None) -> bool:
    if live is None:
        return True
    applied = ((live.get("metadata") or {}).get("annotations") or {}).get(APPLIED_ANNOTATION)
    return bool(applied != desired["metadata"]["annotations"][APPLIED_ANNOTATION])


def node_label_changes(
    name: str, holding: Iterable[str], nodes: Iterable[Obj]
) -> tuple[list[str], list[str]]:
    """(nodes to label with the DAC, nodes to unlabel): labelled are exactly the nodes
    holding its pods; a node labelled for another DAC is never touched."""
    value, holding = label_value(name), set(holding)
    add, remove = [], []
    for node in nodes:
        meta = node.get("metadata") or {}
        current = (meta.get("labels") or {}).get(DAC_LABEL)
        node_name = meta.get("name", "")
        if node_name in holding and current is None:
            add.append(node_name)
        elif node_name not in holding and current == value:
            remove.append(node_name)
    return sorted(add), sorted(remove)


@dataclass(frozen=True)
class Reservation:
    """What the DAC's pods show, for its status."""

    units: int
    unit: Unit
    wanted: int
    placeholders: Sequence[Obj]
    workloads: Sequence[Obj]

    @property
    def placed(self) -> list[Obj]:
        return [p for p in self.placeholders if is_live(p) and is_placed(p)]

    @property
    def available_gpu(self) -> int:
        return sum(pod_gpus(p) for p in self.placed)

    @property
    def allocated_gpu(self) -> int:
        return sum(pod_gpus(p) for p in self.workloads if is_live(p) and is_placed(p))

    @property
    def nodes(self) -> list[str]:
        """Nodes the reservation holds: those of its placeholders and workloads (GPU
        workloads, for a GPU unit: a CPU-only router beside them holds no reservation),
        including a placeholder still terminating and the node a workload is nominated
        to. A workload preempting a placeholder is nominated to the node before it is
        bound there; unlabelled meanwhile, the node no longer matches the workload's node
        selector, and the scheduler preempts another placeholder elsewhere."""
        gpu_unit = self.unit.gpus_per_pod > 0
        workloads = [p for p in self.workloads if pod_gpus(p) > 0 or not gpu_unit]
        return sorted({node for p in [*self.placeholders, *workloads] if (node := held_node(p))})


def unschedulable_since(pods: Iterable[Obj]) -> tuple[datetime, str] | None:
    """The earliest time a live, unplaced pod was found Unschedulable, and the scheduler's
    message for it."""
    found: list[tuple[datetime, str]] = []
    for pod in pods:
        if not is_live(pod) or is_placed(pod):
            continue
        for condition in (pod.get("status") or {}).get("conditions") or []:
            if (
                condition.get("type") == "PodScheduled"
                and condition.get("status") == "False"
                and condition.get("reason") == "Unschedulable"
                and condition.get("lastTransitionTime")
            ):
                found.append((_time(condition["lastTransitionTime"]), condition.get("message", "")))
    return min(found) if found else None


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class DacStatus:
    status: dict[str, Any]
    requeue_after: float | None = None
    """When to look again though nothing changes: the failure threshold's end."""


def dac_status(
    dac: Obj,
    reservation: Reservation | DacProblem,
    *,
    now: datetime,
    threshold: float = FAILURE_THRESHOLD,
) -> DacStatus:
    """The DAC's whole status: state and detail, GPUs, nodes, the Ready condition (its
    lastTransitionTime kept while its status stays) and observedGeneration."""
    previous = dac.get("status") or {}
    requeue: float | None = None
    if isinstance(reservation, DacProblem):
        state, reason, detail = FAILED, reservation.reason, reservation.message
        gpus: dict[str, Any] = {
            "availableGpu": previous.get("availableGpu", 0),
            "allocatedGpu": previous.get("allocatedGpu", 0),
            "nodes": previous.get("nodes") or [],
        }
    else:
        placed, wanted = len(reservation.placed), reservation.wanted
        gpus = {
            "availableGpu": reservation.available_gpu,
            "allocatedGpu": reservation.allocated_gpu,
            "nodes": reservation.nodes,
        }
        summary = (
            f"{reservation.units} unit(s) of {reservation.unit.pods} pod(s); "
            f"{placed} of {wanted} placeholder(s) placed; {gpus['availableGpu']} GPU(s) free, "
            f"{gpus['allocatedGpu']} allocated"
        )
        stuck = unschedulable_since(reservation.placeholders)
        if placed >= wanted:
            state, reason, detail = ACTIVE, RESERVED, summary
            if gpus["nodes"]:
                detail += f" on node(s) {', '.join(gpus['nodes'])}"
        elif stuck is not None and (now - stuck[0]).total_seconds() >= threshold:
            state, reason = FAILED, NOT_ENOUGH_RESOURCES
            detail = f"{summary}; the scheduler: {stuck[1]}"
        else:
            was_active = previous.get("dacLifecycleState") in (ACTIVE, UPDATING)
            state, reason, detail = (UPDATING if was_active else CREATING), RESERVING, summary
            if stuck is not None:
                requeue = max(threshold - (now - stuck[0]).total_seconds(), 1.0)
    generation = (dac.get("metadata") or {}).get("generation")
    condition_status = "True" if state == ACTIVE else "False"
    old: Obj = next(
        (c for c in previous.get("conditions") or [] if c.get("type") == READY_CONDITION), {}
    )
    since = (
        old["lastTransitionTime"]
        if old.get("status") == condition_status and old.get("lastTransitionTime")
        else now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    status = {
        "dacLifecycleState": state,
        "lifecycleDetail": detail,
        **gpus,
        "conditions": [
            {
                "type": READY_CONDITION,
                "status": condition_status,
                "reason": reason,
                "message": detail,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        ],
        "observedGeneration": generation,
    }
    return DacStatus(status, requeue)


def deleting_status(dac: Obj, now: datetime) -> dict[str, Any]:
    previous = dac.get("status") or {}
    detail = "releasing the reservation"
    return {
        **previous,
        "dacLifecycleState": DELETING,
        "lifecycleDetail": detail,
        "conditions": [
            {
                "type": READY_CONDITION,
                "status": "False",
                "reason": "Deleting",
                "message": detail,
                "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "observedGeneration": (dac.get("metadata") or {}).get("generation"),
            }
        ],
    }


def joined_pod(pod: Obj, dac: Obj | None, profile: Obj | None) -> tuple[dict[str, Any], str | None]:
    """A pod annotated with a DAC, made one of its workloads: the DAC's label, its nodes,
    the workload priority (unless the pod names a class) and the unit's tolerations; and
    a warning when the DAC cannot take it (missing, or unusable)."""
    name = str(((pod.get("metadata") or {}).get("annotations") or {}).get(DAC_ANNOTATION, ""))
    meta = dict(pod.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), DAC_LABEL: label_value(name)}
    own_class = (pod.get("spec") or {}).get("priorityClassName")
    spec = with_dedicated_cluster(dict(pod.get("spec") or {}), {DAC_ANNOTATION: name})
    if not own_class:
        # The Priority admission plugin resolved the pod's priority (none) before this
        # webhook: the values it would give the workload class go in with it.
        spec["priority"] = WORKLOAD_PRIORITY
        spec["preemptionPolicy"] = "PreemptLowerPriority"
    warning = None
    if dac is None:
        warning = f"DedicatedAICluster {name} does not exist: the pod waits for its nodes"
    else:
        try:
            _, unit = resolve(dac, profile)
        except DacProblem as problem:
            warning = f"DedicatedAICluster {name}: {problem.message}"
        else:
            own = list(spec.get("tolerations") or [])
            spec["tolerations"] = own + [t for t in unit.tolerations if t not in own]
            if not spec["tolerations"]:
                del spec["tolerations"]
    return {**pod, "metadata": meta, "spec": spec}, warning
