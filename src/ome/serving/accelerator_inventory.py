"""Which nodes an AcceleratorClass covers and how many of its accelerators they have
(upstream ``pkg/controller/v1beta1/acceleratorclass/controller.go``).

A node belongs to a class when its labels carry every pair of ``discovery.nodeSelector``
and, when the class gives ``discovery.affinity.nodeAffinity.requiredDuringScheduling
IgnoredDuringExecution``, it satisfies one of the node selector terms as the scheduler
reads them. The accelerators of a node are the resources named in ``spec.resources``,
else the ones upstream counts: ``nvidia.com/gpu``, ``nvidia.com/mig-*``, ``amd.com/gpu``
and ``gpu.intel.com/*`` other than memory.

The status:

- ``nodes``: the covered nodes, sorted;
- ``totalAccelerators``: their accelerator capacity;
- ``availableNodes``: those that take pods (Ready, not cordoned);
- ``availableAccelerators``: on those, allocatable minus what their bound, unfinished
  pods request (never below 0 per node);
- a ``Ready`` condition: ``True``/``AcceleratorsAvailable``, else ``False`` with
  ``NoMatchingNodes``, ``NodesUnavailable`` or ``AcceleratorsInUse``.

Differences from upstream: upstream writes ``nodes`` and ``availableNodes`` (all covered
nodes) only, reads no affinity, and drops nodes whose *host* memory is below
``capabilities.memoryGB`` (the accelerator's memory): that test is not made here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ome.serving.quantity import whole

Obj = Mapping[str, Any]

READY_CONDITION = "Ready"
AVAILABLE = "AcceleratorsAvailable"
NO_MATCHING_NODES = "NoMatchingNodes"
NODES_UNAVAILABLE = "NodesUnavailable"
IN_USE = "AcceleratorsInUse"
_COUNTED_EXACT = ("nvidia.com/gpu", "amd.com/gpu")
_COUNTED_PREFIXES = ("nvidia.com/mig-", "gpu.intel.com/")
_FINISHED = ("Succeeded", "Failed")
_STANDARD = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})


@dataclass(frozen=True)
class NodeInventory:
    name: str
    total: int
    allocatable: int
    schedulable: bool


def accelerator_resources(spec: Obj) -> tuple[str, ...]:
    """The resource names the class's accelerators go by (empty: upstream's set)."""
    return tuple(str(r["name"]) for r in spec.get("resources") or () if r.get("name"))


def is_accelerator_resource(name: str, named: Sequence[str] = ()) -> bool:
    if named:
        return name in named
    if name.startswith("gpu.intel.com/") and "memory" in name:
        return False
    return name in _COUNTED_EXACT or name.startswith(_COUNTED_PREFIXES)


def requests_extended_resources(pod: Obj) -> bool:
    """Whether a pod asks for anything beyond CPU, memory and storage (accelerators): only
    such pods change what a class has available."""
    return any(set(_requests(c)) - _STANDARD for c in _containers(pod))


def covers(spec: Obj, node: Obj) -> bool:
    """Whether the class's discovery rules select ``node``."""
    discovery = spec.get("discovery") or {}
    labels = node.get("metadata", {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (discovery.get("nodeSelector") or {}).items()):
        return False
    required = ((discovery.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if terms is None:
        return True
    return any(_term_matches(term, node) for term in terms)


def _term_matches(term: Obj, node: Obj) -> bool:
    """A node selector term: every expression holds (an empty term selects nothing, as
    the scheduler reads it)."""
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node.get("metadata", {}).get("labels") or {}
    node_fields = {"metadata.name": node.get("metadata", {}).get("name")}
    return all(_holds(e, labels) for e in expressions) and all(
        _holds(f, node_fields) for f in fields
    )


def _holds(requirement: Obj, values: Mapping[str, Any]) -> bool:
    key, operator = requirement.get("key", ""), requirement.get("operator", "")
    wanted = [str(v) for v in requirement.get("values") or []]
    present, value = key in values and values[key] is not None, values.get(key)
    if operator == "In":
        return present and value in wanted
    if operator == "NotIn":
        return not present or value not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(wanted) == 1:
        # the scheduler compares these as integers
        try:
            have, bound = int(str(value)), int(wanted[0])
        except ValueError:
            return False
        return have > bound if operator == "Gt" else have < bound
    return False


def node_inventory(node: Obj, named: Sequence[str]) -> NodeInventory:
    status = node.get("status") or {}
    capacity = status.get("capacity") or status.get("allocatable") or {}
    allocatable = status.get("allocatable") or capacity

    def count(resources: Obj) -> int:
        return sum(whole(q) for r, q in resources.items() if is_accelerator_resource(r, named))

    return NodeInventory(
        name=str(node.get("metadata", {}).get("name", "")),
        total=count(capacity),
        allocatable=count(allocatable),
        schedulable=_takes_pods(node),
    )


def _takes_pods(node: Obj) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def requested(pods: Iterable[Obj], named: Sequence[str]) -> dict[str, int]:
    """Accelerators requested per node by the pods bound to it and not finished: a pod's
    effective request, the larger of its containers' sum and its largest init container."""
    used: dict[str, int] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in _FINISHED:
            continue
        spec = pod.get("spec") or {}
        running = sum(_accelerators(c, named) for c in spec.get("containers") or [])
        init = max((_accelerators(c, named) for c in spec.get("initContainers") or []), default=0)
        used[node] = used.get(node, 0) + max(running, init)
    return used


def _containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]


def _requests(container: Obj) -> dict[str, Any]:
    """Requests, with limits standing in where a request is not given (as the API server
    defaults them)."""
    resources = container.get("resources") or {}
    return dict(resources.get("limits") or {}) | dict(resources.get("requests") or {})


def _accelerators(container: Obj, named: Sequence[str]) -> int:
    return sum(
        whole(q) for r, q in _requests(container).items() if is_accelerator_resource(r, named)
    )


def class_status(
    accelerator_class: Obj, nodes: Iterable[Obj], pods: Iterable[Obj], now: str
) -> dict[str, Any]:
    """The class's status (``lastUpdated`` kept unless something else changed, as
    upstream; a condition keeps its transition time while its status stays)."""
    spec = accelerator_class.get("spec") or {}
    named = accelerator_resources(spec)
    covered = sorted(
        (node_inventory(n, named) for n in nodes if covers(spec, n)), key=lambda n: n.name
    )
    used = requested(pods, named)
    usable = [n for n in covered if n.schedulable]
    available = sum(max(n.allocatable - used.get(n.name, 0), 0) for n in usable)
    status: dict[str, Any] = {
        "nodes": [n.name for n in covered],
        "totalAccelerators": sum(n.total for n in covered),
        "availableAccelerators": available,
        "availableNodes": len(usable),
    }
    previous = accelerator_class.get("status") or {}
    generation = accelerator_class.get("metadata", {}).get("generation")
    status["conditions"] = [_ready(status, previous, generation, now)]
    unchanged = all(previous.get(k) == v for k, v in status.items())
    status["lastUpdated"] = (previous.get("lastUpdated") if unchanged else None) or now
    return status


def _ready(status: Obj, previous: Obj, generation: Any, now: str) -> dict[str, Any]:
    nodes, usable = len(status["nodes"]), status["availableNodes"]
    total, free = status["totalAccelerators"], status["availableAccelerators"]
    if not nodes:
        state, reason, message = "False", NO_MATCHING_NODES, "no node matches the discovery rules"
    elif not usable:
        state, reason = "False", NODES_UNAVAILABLE
        message = f"{nodes} node(s) match, none takes pods (not Ready or cordoned)"
    elif not free:
        state, reason = "False", IN_USE
        message = f"all {total} accelerator(s) on {nodes} node(s) are requested by pods"
    else:
        state, reason = "True", AVAILABLE
        message = f"{free} of {total} accelerator(s) free on {usable} of {nodes} node(s)"
    before: Obj = next(
        (c for c in previous.get("conditions") or [] if c.get("type") == READY_CONDITION), {}
    )
    since = before.get("lastTransitionTime") if before.get("status") == state else None
    condition = {
        "type": READY_CONDITION,
        "status": state,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or now,
    }
    if isinstance(generation, int):
        condition["observedGeneration"] = generation
    return condition
