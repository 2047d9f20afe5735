"""GPUs asked for by planned services against the GPUs of a cluster's nodes."""

from __future__ import annotations

from ome.serving import ServingConfig
from ome.serving.capacity import GpuDemand, gpu_demand, gpu_report, plan_pods, pod_gpus, unplaced
from tests.unit.serving.helpers import (
    RUNNER,
    catalog,
    cluster_model,
    cluster_runtime,
    plan,
    service,
)


def test_pod_gpus_sum_containers_limits_else_requests() -> None:
    pod = {
        "containers": [
            {"resources": {"limits": {"nvidia.com/gpu": "4"}, "requests": {"nvidia.com/gpu": 1}}},
            {"resources": {"requests": {"nvidia.com/gpu": 2}}},
            {"resources": {}},
            {},
        ]
    }
    assert pod_gpus(pod) == 6


def test_pod_gpus_count_the_largest_init_container_when_it_asks_more() -> None:
    pod = {
        "initContainers": [{"resources": {"limits": {"nvidia.com/gpu": 8}}}],
        "containers": [{"resources": {"limits": {"nvidia.com/gpu": 2}}}],
    }
    assert pod_gpus(pod) == 8
    assert pod_gpus({"containers": [{"resources": {"limits": {"nvidia.com/gpu": "x"}}}]}) == 0


def test_a_plan_starts_min_replicas_pods_of_each_component() -> None:
    # the helper runtime's engine asks 2 GPUs a pod, its router none
    assert plan_pods(plan(service(engine={"minReplicas": 3}))) == [2, 2, 2]
    assert plan_pods(plan(service(router={"minReplicas": 2}))) == [2, 0, 0]


def test_a_multi_node_component_starts_a_leader_and_its_workers_per_replica() -> None:
    # the GPU report said 16 GPUs for kimi-k2-pd, whose groups are 4 and 12 pods of 8
    worker = {"size": 2, "runner": RUNNER, "hostNetwork": True}
    multi_node = {"leader": {"runner": RUNNER}, "worker": worker}
    runtime = cluster_runtime("srt-llama", engineConfig=multi_node)
    chat = service(engine={"minReplicas": 2})
    assert plan_pods(plan(chat, cluster_model(), runtime)) == [2, 2, 2, 2, 2, 2]


def test_demand_counts_planned_services_and_the_reasons_of_the_others() -> None:
    objects = catalog(cluster_model(), cluster_runtime("srt-llama"))
    services = [
        service("a", engine={"minReplicas": 2}),
        service("b"),
        service("c", model={"name": "missing"}),
        service("d", model={"name": "missing"}),
    ]
    demand = gpu_demand(services, objects, ServingConfig())
    assert demand == GpuDemand((2, 2, 2), planned=2, unplanned={"BaseModelNotFound": 2})
    assert demand.gpus == 6


def test_unplaced_packs_largest_first() -> None:
    assert unplaced([4, 4, 8, 0], [8, 8]) == []
    assert unplaced([4, 4, 8, 2], [8, 8]) == [2]
    assert unplaced([16, 2], [8, 8]) == [16]


def test_report_when_everything_fits() -> None:
    assert gpu_report(GpuDemand((8, 4, 0), planned=2), [8, 8]) == [
        "GPUs: 2 services need 12 in 2 pods; the cluster has 16 on 2 nodes"
    ]


def test_report_names_pods_too_large_for_any_node_and_the_shortfall() -> None:
    demand = GpuDemand((16, 8, 8, 8), planned=3, unplanned={"ModelFormatMissing": 5})
    assert gpu_report(demand, [8, 8]) == [
        "GPUs: 3 services need 40 in 4 pods; the cluster has 16 on 2 nodes",
        "  1 pod needs more GPUs than any node has (16 > 8): give nodes more GPUs "
        "(--gpus-per-node, --node-group)",
        "  1 more pod will stay Pending: 8 GPUs short (add nodes: --nodes, --node-group)",
        "  5 services not counted (not plannable yet: ModelFormatMissing 5); "
        "`ome status isvc` tells why once they are applied",
    ]
