"""Whether the DedicatedAICluster a service names can take its pods: the GPUs the
service needs and already holds, a missing DAC, a full one."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import Reason, ServingError, compute_status, is_ready
from ome.serving.dedicated_fit import dedicated_cluster_fit, held_gpus, joined_cluster, needed_gpus
from tests.unit.serving.helpers import RUNNER, cluster_model, cluster_runtime, plan, service

JOINS = {"ome.io/dedicated-ai-cluster": "team"}
T0 = "2025-01-01T00:00:00Z"


def dac(state: str | None = "ACTIVE", available: int = 16, **meta: Any) -> dict[str, Any]:
    status = {"availableGpu": available, "allocatedGpu": 0}
    if state is not None:
        status["dacLifecycleState"] = state
    return {"metadata": {"name": "team", **meta}, "status": status}


def gpu_pod(gpus: int, node: str | None = "n1", dac_value: str = "team", **status: Any) -> Any:
    spec: dict[str, Any] = {
        "nodeSelector": {"ome.io/dedicated-ai-cluster": dac_value},
        "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}],
    }
    if node is not None:
        spec["nodeName"] = node
    return {"metadata": {"name": "p"}, "spec": spec, "status": status}


def test_the_dac_a_service_joins_is_its_annotation() -> None:
    assert joined_cluster(plan(service(annotations=JOINS))) == "team"
    assert joined_cluster(plan(service())) is None
    assert joined_cluster(plan(service(annotations={"ome.io/dedicated-ai-cluster": ""}))) is None


def test_the_gpus_needed_are_per_pod_times_the_minimum_replicas() -> None:
    # the helpers' runner asks for 2 GPUs
    assert needed_gpus(plan(service(engine={"minReplicas": 3}))) == 6
    assert needed_gpus(plan(service())) == 2
    # the router is not placed on the reservation
    routed = service(router={"runner": {**RUNNER, "name": "router"}})
    assert needed_gpus(plan(routed)) == 2


def test_a_multi_node_engine_needs_its_groups_pods() -> None:
    group = {"leader": {"runner": RUNNER}, "worker": {"size": 2, "runner": RUNNER}}
    runtime = cluster_runtime("srt-llama", engineConfig=group)
    assert needed_gpus(plan(service(engine={"minReplicas": 2}), cluster_model(), runtime)) == 12


def test_held_gpus_are_those_of_live_pods_placed_on_the_dac() -> None:
    pods = [
        gpu_pod(2),
        gpu_pod(2, node=None),  # pending
        gpu_pod(2, phase="Succeeded"),
        gpu_pod(2, dac_value="other"),
        gpu_pod(1, node="n2"),
    ]
    assert held_gpus("team", pods) == 3


def test_a_missing_dac_stops_the_service() -> None:
    with pytest.raises(ServingError) as raised:
        dedicated_cluster_fit("team", None, 2, 0)
    assert raised.value.reason is Reason.DEDICATED_AI_CLUSTER_NOT_FOUND
    assert "DedicatedAICluster team" in raised.value.message
    assert "does not exist" in raised.value.message


def test_a_dac_with_room_takes_the_service_whatever_its_state() -> None:
    assert dedicated_cluster_fit("team", dac(), 16, 0) is None
    assert dedicated_cluster_fit("team", dac("UPDATING", available=8), 8, 0) is None
    assert dedicated_cluster_fit("team", dac("FAILED", available=8), 8, 0) is None
    # the pods already placed took placeholders' places: the DAC no longer counts them
    assert dedicated_cluster_fit("team", dac(available=0), 8, 8) is None
    assert dedicated_cluster_fit("team", dac("DELETING", available=0), 0, 0) is None


def test_a_full_dac_names_the_numbers() -> None:
    problem = dedicated_cluster_fit("team", dac(available=8), 16, 0)
    assert problem is not None
    assert problem.reason is Reason.DEDICATED_AI_CLUSTER_FULL
    assert problem.message == (
        "the service needs 16 GPUs; DedicatedAICluster team (ACTIVE) has 8 available: "
        "its pods wait (Pending) until the DAC frees or adds capacity"
    )
    partly = dedicated_cluster_fit("team", dac(available=2), 8, 4)
    assert partly is not None
    assert "needs 8 GPUs, 4 of them placed" in partly.message


def test_a_dac_without_status_or_being_deleted_has_nothing_available() -> None:
    fresh = {"metadata": {"name": "team"}}
    problem = dedicated_cluster_fit("team", fresh, 2, 0)
    assert problem is not None
    assert "(CREATING) has 0 available" in problem.message
    leaving = dac(deletionTimestamp="2025-01-01T00:00:00Z")
    problem = dedicated_cluster_fit("team", leaving, 2, 0)
    assert problem is not None
    assert "(DELETING) has 0 available" in problem.message


def test_a_full_dac_is_the_reason_of_a_ready_that_is_not_true() -> None:
    full = ServingError(Reason.DEDICATED_AI_CLUSTER_FULL, "no room")
    waiting = compute_status(plan(), {}, [], T0, waiting=full)
    ready = next(c for c in waiting["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "DedicatedAIClusterFull",
        "no room",
    )
    available = {"status": {"conditions": [{"type": "Available", "status": "True"}]}}
    assert is_ready(compute_status(plan(), {"chat-engine": available}, [], T0, waiting=full))
