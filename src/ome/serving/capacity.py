"""How many GPUs a set of InferenceServices asks for, and whether their pods fit the GPUs
of a cluster's nodes: what ``ome run --local`` reports at start, before any pod waits
Pending for a GPU that the fake cluster does not have."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ome.api.v1beta1 import InferenceService
from ome.serving.catalog import Catalog
from ome.serving.config import ServingConfig
from ome.serving.plan import ServingPlan, plan_service
from ome.serving.podspec import GPU_RESOURCE, whole_quantity
from ome.serving.problems import ServingError


@dataclass(frozen=True)
class GpuDemand:
    """The GPUs of each pod the planned services start, and why the others could not be
    planned (by reason: their GPUs are not known yet)."""

    pods: tuple[int, ...] = ()
    planned: int = 0
    unplanned: Mapping[str, int] = field(default_factory=dict)

    @property
    def gpus(self) -> int:
        return sum(self.pods)


def pod_gpus(pod: Mapping[str, Any]) -> int:
    """The GPUs a pod asks the scheduler for: its containers' sum, or its largest init
    container's when that is more (init containers run one at a time, before the rest)."""

    def gpus(container: Mapping[str, Any]) -> int:
        resources = container.get("resources") or {}
        value = (resources.get("limits") or {}).get(GPU_RESOURCE)
        if value is None:  # the scheduler counts requests, which default to the limits
            value = (resources.get("requests") or {}).get(GPU_RESOURCE)
        return whole_quantity(value) if value is not None else 0

    running = sum(gpus(c) for c in pod.get("containers") or ())
    return max([running, *(gpus(c) for c in pod.get("initContainers") or ())])


def plan_pods(plan: ServingPlan) -> list[int]:
    """The GPUs of each pod a planned service starts: ``minReplicas`` (at least one) of
    each component's pod, or of its group of a leader and workers when multi-node."""
    pods: list[int] = []
    for workload in plan.workloads:
        group = [pod_gpus(workload.pod)]
        if workload.multi_node:
            group += [pod_gpus(workload.worker_pod or workload.pod)] * workload.workers
        pods += group * max(workload.spec.get("minReplicas", 1), 1)
    return pods


def gpu_demand(
    services: Iterable[InferenceService], catalog: Catalog, config: ServingConfig
) -> GpuDemand:
    pods: list[int] = []
    planned = 0
    unplanned: Counter[str] = Counter()
    for service in services:
        try:
            plan = plan_service(service, catalog, config)
        except ServingError as error:
            unplanned[str(error.reason)] += 1
            continue
        planned += 1
        pods += plan_pods(plan)
    return GpuDemand(tuple(pods), planned, dict(sorted(unplanned.items())))


def unplaced(pods: Sequence[int], nodes: Sequence[int]) -> list[int]:
    """The pods (by GPUs) that find no node with enough free GPUs when placed largest
    first on the first node with room: a quick, pessimistic picture of the scheduler."""
    free = sorted(nodes, reverse=True)
    left = []
    for need in sorted((p for p in pods if p > 0), reverse=True):
        index = next((i for i, gpus in enumerate(free) if gpus >= need), None)
        if index is None:
            left.append(need)
        else:
            free[index] -= need
    return left


def gpu_report(demand: GpuDemand, nodes: Sequence[int]) -> list[str]:
    """Lines for people: the GPUs asked for against those the nodes have, what does not
    fit and why, and how many services could not be counted."""
    gpu_pods = [p for p in demand.pods if p > 0]
    have = f"the cluster has {sum(nodes)} on {len(nodes)} node{_s(len(nodes))}"
    lines = [
        f"GPUs: {demand.planned} service{_s(demand.planned)} need {demand.gpus} in "
        f"{len(gpu_pods)} pod{_s(len(gpu_pods))}; {have}"
    ]
    left = unplaced(demand.pods, nodes)
    largest = max(nodes, default=0)
    too_big = [p for p in left if p > largest]
    if too_big:
        lines.append(
            f"  {len(too_big)} pod{_s(len(too_big))} "
            f"{'needs' if len(too_big) == 1 else 'need'} more GPUs than any node has "
            f"({max(too_big)} > {largest}): give nodes more GPUs (--gpus-per-node, "
            "--node-group)"
        )
    if len(left) > len(too_big):
        short = sum(p for p in left if p <= largest)
        lines.append(
            f"  {len(left) - len(too_big)} more pod{_s(len(left) - len(too_big))} will stay "
            f"Pending: {short} GPUs short (add nodes: --nodes, --node-group)"
        )
    if demand.unplanned:
        count = sum(demand.unplanned.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in demand.unplanned.items())
        lines.append(
            f"  {count} service{_s(count)} not counted (not plannable yet: {reasons}); "
            "`ome status isvc` tells why once they are applied"
        )
    return lines


def _s(count: int) -> str:
    return "" if count == 1 else "s"
