"""Status of multi-node components, from their LeaderWorkerSets and the pods of their
groups (the LeaderWorkerSet controller's conditions: sigs.k8s.io/lws
pkg/controllers/leaderworkerset_controller.go)."""

from __future__ import annotations

from typing import Any

from ome.serving import compute_status, is_ready, workload_available
from tests.unit.serving.helpers import RUNNER, cluster_model, cluster_runtime, plan, service

T0 = "2025-01-01T00:00:00Z"
ENGINE = {"leader": {"runner": RUNNER}, "worker": {"size": 1, "runner": RUNNER}}
LWS = "lws-chat-engine"


def multi_node_plan(**spec: Any) -> Any:
    return plan(service(**spec), cluster_model(), cluster_runtime("srt-llama", engineConfig=ENGINE))


def lws(*conditions: tuple[str, str, str], ready: int = 0, replicas: int = 1) -> dict[str, Any]:
    listed = [
        {"type": kind, "status": status, "reason": reason, "message": f"{reason} message"}
        for kind, status, reason in conditions
    ]
    status = {"conditions": listed, "replicas": replicas} | (
        {"readyReplicas": ready} if ready else {}
    )
    return {"metadata": {"name": LWS}, "spec": {"replicas": replicas}, "status": status}


AVAILABLE = ("Available", "True", "AllGroupsReady")
STALE_AVAILABLE = ("Available", "False", "AllGroupsReady")
PROGRESSING = ("Progressing", "True", "GroupsProgressing")


def pod(name: str, worker: str, **status: Any) -> dict[str, Any]:
    labels = {
        "leaderworkerset.sigs.k8s.io/name": LWS,
        "leaderworkerset.sigs.k8s.io/worker-index": worker,
        "ome.io/inferenceservice": "chat",
    }
    return {"metadata": {"name": name, "labels": labels}, "status": status}


def engine_ready(status: dict[str, Any]) -> tuple[str, str, str]:
    found = next(c for c in status["conditions"] if c["type"] == "EngineReady")
    return found["status"], found.get("reason", ""), found.get("message", "")


READY_POD = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}


def test_an_available_leader_worker_set_makes_the_service_ready() -> None:
    group = [
        pod("lws-chat-engine-0", "0", **READY_POD),
        pod("lws-chat-engine-0-1", "1", **READY_POD),
    ]
    status = compute_status(multi_node_plan(), {LWS: lws(AVAILABLE, ready=1)}, group, T0)
    assert engine_ready(status)[:2] == ("True", "AllGroupsReady")
    assert is_ready(status)
    assert status["components"]["engine"] == {"url": "http://chat-engine.team.svc.cluster.local"}
    assert status["modelStatus"]["modelCopies"] == {"failedCopies": 0, "totalCopies": 1}
    assert status["modelStatus"]["transitionStatus"] == "UpToDate"


def test_a_leader_worker_set_not_seen_yet_is_initializing() -> None:
    status = compute_status(multi_node_plan(), {}, [], T0)
    assert engine_ready(status)[:2] == ("False", "Initializing")
    # a Deployment of the same component's name is not the LeaderWorkerSet
    status = compute_status(multi_node_plan(), {"chat-engine": lws(AVAILABLE, ready=1)}, [], T0)
    assert engine_ready(status)[:2] == ("False", "Initializing")


def test_progress_says_how_many_groups_are_ready() -> None:
    """When groups stop being ready the controller turns Available False but leaves its
    reason AllGroupsReady; Progressing says what happens."""
    observed = lws(STALE_AVAILABLE, PROGRESSING, ready=1, replicas=2)
    status = compute_status(multi_node_plan(engine={"minReplicas": 2}), {LWS: observed}, [], T0)
    assert engine_ready(status) == (
        "False",
        "GroupsProgressing",
        "1 of 2 groups of 2 pods ready (engine LeaderWorkerSet lws-chat-engine)",
    )
    assert not is_ready(status)


def test_available_counts_only_once_every_group_is_ready() -> None:
    the_plan = multi_node_plan(engine={"minReplicas": 2})
    (workload,) = the_plan.workloads
    pods = [
        pod(f"lws-chat-engine-{g}{w}", str(i), **READY_POD)
        for g in "01"
        for i, w in enumerate(("", "-1"))
    ]
    assert not workload_available(workload, lws(AVAILABLE, ready=1, replicas=2), pods)
    assert workload_available(workload, lws(AVAILABLE, ready=2, replicas=2), pods)
    assert not workload_available(workload, None, pods)


def test_a_group_counted_ready_while_a_worker_waits_is_not_available() -> None:
    """The LeaderWorkerSet controller reports AllGroupsReady from the leader while the
    worker has no node yet (seen with LWS v0.7.0)."""
    group = [pod("lws-chat-engine-0", "0", **READY_POD), pod("lws-chat-engine-0-1", "1")]
    status = compute_status(multi_node_plan(), {LWS: lws(AVAILABLE, ready=1)}, group, T0)
    assert engine_ready(status)[0] == "False"
    assert not is_ready(status)


def test_a_group_that_does_not_fit_names_the_shortage() -> None:
    unschedulable = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    }
    group = [
        pod("lws-chat-engine-0", "0", phase="Running"),
        pod("lws-chat-engine-0-1", "1", phase="Pending", conditions=[unschedulable]),
    ]
    status = compute_status(multi_node_plan(), {LWS: lws(PROGRESSING)}, group, T0)
    assert engine_ready(status) == (
        "False",
        "Unschedulable",
        "pod lws-chat-engine-0-1 cannot be scheduled: "
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "Unschedulable"


def test_a_failing_worker_fails_the_model() -> None:
    crashed = {
        "name": "ome-container",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": "NCCL"}},
    }
    group = [
        pod("lws-chat-engine-0", "0"),
        pod("lws-chat-engine-0-1", "1", containerStatuses=[crashed]),
        # another service's pod with the same app label is not this model's
        {"metadata": {"name": "x", "labels": {"app": "chat-engine"}}},
    ]
    status = compute_status(multi_node_plan(), {LWS: lws(PROGRESSING)}, group, T0)
    model = status["modelStatus"]
    assert model["transitionStatus"] == "BlockedByFailedLoad"
    assert model["lastFailureInfo"] == {
        "exitCode": 1,
        "reason": "ModelLoadFailed",
        "message": "NCCL",
    }
