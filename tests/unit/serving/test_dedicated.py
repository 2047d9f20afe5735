"""DedicatedAICluster logic: the unit from a profile and overrides, placeholders wanted,
the status states, node labels and the count check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ome.serving.dedicated import (
    DAC_LABEL,
    PLACEHOLDER_LABEL,
    RESERVATION_CLASS,
    WORKLOAD_CLASS,
    DacProblem,
    Reservation,
    capacity_refusal,
    dac_status,
    needs_apply,
    node_label_changes,
    placeholder_deployment,
    resolve,
    wanted_placeholders,
    with_dedicated_cluster,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GPU8 = {"limits": {"nvidia.com/gpu": "8"}, "requests": {"nvidia.com/gpu": "8"}}


def profile(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"count": 1, "resources": GPU8, **spec}}


def dac(count: Any = 2, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": "team", "uid": "u1", "generation": 3},
        "spec": {"profile": "p", "count": count, **spec},
    }
    if status is not None:
        body["status"] = status
    return body


def pod(gpus: int = 8, node: str | None = "n1", unschedulable_at: datetime | None = None) -> Any:
    body: dict[str, Any] = {
        "metadata": {"name": "x", "namespace": "ns"},
        "spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]},
        "status": {"phase": "Running" if node else "Pending"},
    }
    if node:
        body["spec"]["nodeName"] = node
    if unschedulable_at is not None:
        body["status"]["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
                "lastTransitionTime": unschedulable_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
    return body


def test_the_dac_overrides_the_profile_field_by_field() -> None:
    selector = {"pool": "a"}
    units, unit = resolve(dac(nodeSelector={"pool": "b"}), profile(nodeSelector=selector, count=2))
    assert (units, unit.pods, unit.gpus_per_pod) == (2, 2, 8)
    assert unit.node_selector == {"pool": "b"}
    assert unit.priority_class_name == WORKLOAD_CLASS


@pytest.mark.parametrize(
    ("spec_count", "prof", "reason"),
    [
        (2, None, "ProfileNotFound"),
        (2, profile(disabled=True), "ProfileDisabled"),
        (0, profile(), "InvalidSpec"),
        (-1, profile(), "InvalidSpec"),
        (2, profile(resources={}), "InvalidSpec"),
    ],
)
def test_bad_input_has_a_reason(spec_count: int, prof: Any, reason: str) -> None:
    with pytest.raises(DacProblem) as caught:
        resolve(dac(spec_count), prof)
    assert caught.value.reason == reason


def test_placeholders_shrink_by_what_the_workloads_hold() -> None:
    _, unit = resolve(dac(), profile())
    assert wanted_placeholders(2, unit, []) == 2
    assert wanted_placeholders(2, unit, [pod(8)]) == 1
    assert wanted_placeholders(2, unit, [pod(4), pod(4)]) == 1
    assert wanted_placeholders(2, unit, [pod(4), pod(4, node="n2")]) == 0  # one per node
    assert wanted_placeholders(2, unit, [pod(8, node=None)]) == 2  # pending holds nothing
    assert wanted_placeholders(2, unit, [pod(8), pod(8), pod(8)]) == 0


def test_the_placeholder_deployment() -> None:
    _, unit = resolve(dac(), profile(tolerations=[{"key": "gpu", "operator": "Exists"}]))
    deployment = placeholder_deployment("team", "u1", "ome", unit, 2)
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert deployment["spec"]["replicas"] == 2
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {DAC_LABEL: "team", PLACEHOLDER_LABEL: "true"}
    spec = template["spec"]
    assert spec["priorityClassName"] == RESERVATION_CLASS
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["containers"][0]["resources"] == GPU8
    assert spec["tolerations"] == [{"key": "gpu", "operator": "Exists"}]
    (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert {"key": DAC_LABEL, "operator": "NotIn", "values": ["team"]} in term["labelSelector"][
        "matchExpressions"
    ]
    assert not needs_apply(deployment, deployment)
    assert needs_apply(placeholder_deployment("team", "u1", "ome", unit, 1), deployment)


def test_active_creating_and_failed_after_the_threshold() -> None:
    units, unit = resolve(dac(), profile())
    active = dac_status(dac(), Reservation(units, unit, 2, [pod(), pod(node="n2")], []), now=NOW)
    assert active.status["dacLifecycleState"] == "ACTIVE"
    assert (active.status["availableGpu"], active.status["allocatedGpu"]) == (16, 0)
    assert active.status["nodes"] == ["n1", "n2"]
    assert active.status["observedGeneration"] == 3
    assert active.requeue_after is None

    stuck = pod(node=None, unschedulable_at=NOW - timedelta(seconds=10))
    waiting = dac_status(dac(), Reservation(units, unit, 2, [pod(), stuck], []), now=NOW)
    assert waiting.status["dacLifecycleState"] == "CREATING"
    assert waiting.requeue_after == pytest.approx(50)

    later = NOW + timedelta(seconds=60)
    failed = dac_status(dac(), Reservation(units, unit, 2, [pod(), stuck], []), now=later)
    assert failed.status["dacLifecycleState"] == "FAILED"
    assert failed.status["conditions"][0]["reason"] == "NotEnoughResources"
    assert "Insufficient nvidia.com/gpu" in failed.status["lifecycleDetail"]
    assert failed.requeue_after is None

    was_active = dac(status=active.status)
    updating = dac_status(was_active, Reservation(units, unit, 2, [pod(), stuck], []), now=NOW)
    assert updating.status["dacLifecycleState"] == "UPDATING"
    kept = updating.status["conditions"][0]
    assert kept["status"] == "False"


def test_the_reservation_keeps_the_nodes_a_preemption_is_under_way_on() -> None:
    """A workload preempting a placeholder is nominated to its node before it is bound
    there: that node stays the DAC's (labelled), or the workload, no longer matching it,
    would preempt a second placeholder elsewhere."""
    units, unit = resolve(dac(), profile())
    victim = pod(node="n1")
    victim["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    preemptor = pod(node=None, unschedulable_at=NOW)
    preemptor["status"]["nominatedNodeName"] = "n1"
    finished = pod(node="n3")
    finished["status"]["phase"] = "Succeeded"
    reservation = Reservation(units, unit, 2, [victim, pod(node="n2")], [preemptor, finished])
    assert reservation.nodes == ["n1", "n2"]
    assert len(reservation.placed) == 1  # the terminating placeholder holds nothing free
    assert reservation.allocated_gpu == 0  # nor does the workload until it is bound

    preemptor["status"]["nominatedNodeName"] = None
    gone = Reservation(units, unit, 2, [pod(node="n2")], [preemptor])
    assert gone.nodes == ["n2"]


def test_a_problem_keeps_the_last_counts() -> None:
    problem = DacProblem("ProfileNotFound", "DedicatedAIClusterProfile p does not exist")
    status = dac_status(dac(status={"availableGpu": 8}), problem, now=NOW).status
    assert status["dacLifecycleState"] == "FAILED"
    assert status["availableGpu"] == 8
    assert status["conditions"][0]["reason"] == "ProfileNotFound"


def test_node_labels_follow_the_reservation_and_spare_other_dacs() -> None:
    nodes = [
        {"metadata": {"name": "a", "labels": {}}},
        {"metadata": {"name": "b", "labels": {DAC_LABEL: "team"}}},
        {"metadata": {"name": "c", "labels": {DAC_LABEL: "other"}}},
        {"metadata": {"name": "d", "labels": {DAC_LABEL: "team"}}},
    ]
    assert node_label_changes("team", ["a", "b", "c"], nodes) == (["a"], ["d"])


def test_count_below_the_allocation_is_refused_with_the_numbers() -> None:
    _, unit = resolve(dac(), profile())
    assert capacity_refusal(2, unit, 16) is None
    refusal = capacity_refusal(1, unit, 16)
    assert refusal is not None
    assert "8 GPUs" in refusal
    assert "hold 16" in refusal


def test_a_workload_pod_is_placed_on_the_dac() -> None:
    pod_spec = {"nodeSelector": {"x": "y"}}
    placed = with_dedicated_cluster(pod_spec, {"ome.io/dedicated-ai-cluster": "team"})
    assert placed["nodeSelector"] == {DAC_LABEL: "team", "x": "y"}
    assert placed["priorityClassName"] == WORKLOAD_CLASS
    assert with_dedicated_cluster(pod_spec, {}) is pod_spec
