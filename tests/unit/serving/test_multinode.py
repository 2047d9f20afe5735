"""The objects rendered for multi-node components (a LeaderWorkerSet and a Service to its
leaders) and for prefill/decode disaggregation."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import (
    Component,
    DeploymentMode,
    ObjectRef,
    Reason,
    ServingError,
    render_objects,
)
from tests.unit.serving.helpers import (
    ROUTER_RUNNER,
    RUNNER,
    by_kind,
    cluster_model,
    cluster_runtime,
    kinds_and_names,
    named,
    plan,
    service,
)

LEADER = {"runner": RUNNER, "hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"}
WORKER = {"size": 2, "runner": RUNNER, "hostNetwork": True}
MULTI_NODE = {"leader": LEADER, "worker": WORKER}


def runtime(**configs: Any) -> Any:
    return cluster_runtime("srt-llama", engineConfig=MULTI_NODE, **configs)


def objects(svc: Any = None, *catalogue: Any) -> list[dict[str, Any]]:
    return render_objects(plan(svc, *(catalogue or (cluster_model(), runtime()))))


def leader_worker_set(rendered: list[dict[str, Any]], name: str = "lws-chat-engine") -> Any:
    return named(rendered, "LeaderWorkerSet", name)


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_a_multi_node_engine_is_a_leader_worker_set_with_a_service_to_its_leaders() -> None:
    rendered = objects()
    assert kinds_and_names(rendered) == [
        ("ConfigMap", "modelconfig-chat"),
        ("LeaderWorkerSet", "lws-chat-engine"),
        ("Service", "chat-engine"),
        ("Service", "chat"),
    ]
    lws = leader_worker_set(rendered)
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    spec = lws["spec"]
    assert spec["replicas"] == 1
    assert spec["startupPolicy"] == "LeaderCreated"
    assert spec["networkConfig"] == {"subdomainPolicy": "Shared"}
    assert spec["rolloutStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 1},
    }
    template = spec["leaderWorkerTemplate"]
    assert template["size"] == 3
    assert template["restartPolicy"] == "RecreateGroupOnPodRestart"
    assert lws["metadata"]["labels"]["component"] == "engine"
    assert "app" not in lws["metadata"]["labels"]


def test_leaders_and_workers() -> None:
    template = leader_worker_set(objects())["spec"]["leaderWorkerTemplate"]
    leader, worker = template["leaderTemplate"], template["workerTemplate"]
    assert leader["metadata"]["labels"]["app"] == "chat-engine"
    assert leader["metadata"]["labels"]["ray.io/node-type"] == "head"
    assert "app" not in worker["metadata"]["labels"]
    assert "ray.io/node-type" not in worker["metadata"]["labels"]
    for pod in (leader["spec"], worker["spec"]):
        assert pod["hostNetwork"] is True
        assert pod["nodeSelector"] == {"models.ome.io/clusterbasemodel.llama": "Ready"}
        (main,) = pod["containers"]
        # 2 GPUs per pod, a leader and two workers
        assert env(main)["PARALLELISM_SIZE"] == "6"
        assert env(main)["MODEL_PATH"] == "/raid/models/llama"
        assert "readinessProbe" not in main
        assert {"name": "llama", "hostPath": {"path": "/raid/models/llama"}} in pod["volumes"]
    assert leader["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert worker["spec"]["dnsPolicy"] == "ClusterFirst"


def test_the_services_reach_the_leaders_only() -> None:
    rendered = objects()
    selector = named(rendered, "Service", "chat-engine")["spec"]["selector"]
    assert selector == {"app": "chat-engine", "ray.io/node-type": "head"}
    assert named(rendered, "Service", "chat")["spec"]["selector"] == {
        "component": "engine",
        "ome.io/inferenceservice": "chat",
        "ray.io/node-type": "head",
    }


def test_groups_follow_min_replicas_without_autoscaler_or_disruption_budget() -> None:
    rendered = objects(service(engine={"minReplicas": 2, "maxReplicas": 5}))
    assert leader_worker_set(rendered)["spec"]["replicas"] == 2
    assert not by_kind(rendered, "HorizontalPodAutoscaler")
    assert not by_kind(rendered, "PodDisruptionBudget")


def test_the_service_overrides_the_runtime_leader_and_workers() -> None:
    svc = service(
        engine={
            "minReplicas": 1,
            "worker": {"size": 4},
            "leader": {"runner": {"name": "ome-container", "args": ["--log-level", "debug"]}},
        }
    )
    template = leader_worker_set(objects(svc))["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 5
    (leader,) = template["leaderTemplate"]["spec"]["containers"]
    assert leader["args"] == ["--model-path", "$(MODEL_PATH)", "--log-level", "debug"]
    assert env(leader)["PARALLELISM_SIZE"] == "10"


def test_worker_prometheus_annotations_are_dropped() -> None:
    notes = {"prometheus.io/scrape": "true", "prometheus.io/port": "9090", "team": "a"}
    template = leader_worker_set(objects(service(annotations=notes)))["spec"][
        "leaderWorkerTemplate"
    ]
    assert template["leaderTemplate"]["metadata"]["annotations"]["prometheus.io/port"] == "9090"
    worker = template["workerTemplate"]["metadata"]["annotations"]
    assert "prometheus.io/port" not in worker
    assert worker["team"] == "a"


def test_an_annotated_engine_without_workers_is_a_group_of_one() -> None:
    svc = service(engine={"annotations": {"ome.io/deploymentMode": "MultiNode"}})
    rendered = objects(svc, cluster_model(), cluster_runtime("srt-llama"))
    template = leader_worker_set(rendered)["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 1
    assert template["workerTemplate"]["spec"] == template["leaderTemplate"]["spec"]


def test_a_worker_without_runner_or_containers_is_refused() -> None:
    engine = {"leader": LEADER, "worker": {"size": 1}}
    catalogue = (cluster_model(), cluster_runtime("srt-llama", engineConfig=engine))
    with pytest.raises(ServingError) as caught:
        objects(None, *catalogue)
    assert caught.value.reason is Reason.NO_CONTAINERS
    assert "engine worker" in caught.value.message
    assert "spec.engine.worker" in caught.value.message


def test_prefill_decode_on_multi_node_runtimes() -> None:
    decoder = {"leader": LEADER, "worker": {**WORKER, "size": 1}}
    catalogue = (cluster_model(), runtime(decoderConfig=decoder))
    svc = service(decoder={"minReplicas": 1}, router={})
    the_plan = plan(svc, *catalogue)
    modes = {w.component: w.mode for w in the_plan.workloads}
    assert modes == {
        Component.ENGINE: DeploymentMode.MULTI_NODE,
        Component.DECODER: DeploymentMode.MULTI_NODE,
        Component.ROUTER: DeploymentMode.RAW_DEPLOYMENT,
    }
    assert [w.object_ref for w in the_plan.workloads] == [
        ObjectRef("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "lws-chat-engine"),
        ObjectRef("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "lws-chat-decoder"),
        ObjectRef("apps/v1", "Deployment", "chat-router"),
    ]
    rendered = render_objects(the_plan)
    assert kinds_and_names(rendered) == [
        ("ConfigMap", "modelconfig-chat"),
        ("LeaderWorkerSet", "lws-chat-engine"),
        ("Service", "chat-engine"),
        ("LeaderWorkerSet", "lws-chat-decoder"),
        ("Service", "chat-decoder"),
        ("ServiceAccount", "chat-router"),
        ("Role", "chat-router"),
        ("RoleBinding", "chat-router"),
        ("Deployment", "chat-router"),
        ("Service", "chat-router"),
        ("HorizontalPodAutoscaler", "chat-router"),
        ("PodDisruptionBudget", "chat-router"),
        ("Service", "chat"),
    ]
    decoder_lws = leader_worker_set(rendered, "lws-chat-decoder")
    assert decoder_lws["spec"]["leaderWorkerTemplate"]["size"] == 2
    router_pod = named(rendered, "Deployment", "chat-router")["spec"]["template"]["spec"]
    assert router_pod["serviceAccountName"] == "chat-router"


def test_prefill_on_a_deployment_and_decode_on_a_leader_worker_set() -> None:
    catalogue = (
        cluster_model(),
        cluster_runtime(
            "srt-llama", decoderConfig=MULTI_NODE, routerConfig={"runner": ROUTER_RUNNER}
        ),
    )
    rendered = objects(service(decoder={}, router={}), *catalogue)
    assert named(rendered, "Deployment", "chat-engine")
    assert leader_worker_set(rendered, "lws-chat-decoder")


def test_a_decoder_without_leader_or_runner_counts_only_its_workers() -> None:
    """Upstream components/decoder.go counts a leader only when the decoder has a leader
    or a runner."""
    decoder = {"worker": WORKER, "containers": [{"name": "ome-container", "image": "d:1"}]}
    catalogue = (cluster_model(), cluster_runtime("srt-llama", decoderConfig=decoder))
    rendered = objects(service(decoder={}), *catalogue)
    worker = leader_worker_set(rendered, "lws-chat-decoder")["spec"]["leaderWorkerTemplate"][
        "workerTemplate"
    ]
    assert env(worker["spec"]["containers"][0])["PARALLELISM_SIZE"] == "4"


@pytest.mark.parametrize("component", ["decoder", "router"])
def test_a_component_the_runtime_has_no_config_for(component: str) -> None:
    catalogue = (cluster_model(), cluster_runtime("srt-llama", routerConfig=None))
    with pytest.raises(ServingError) as caught:
        objects(service(**{component: {"minReplicas": 1}}), *catalogue)
    reason = (
        Reason.DECODER_CONFIG_MISSING if component == "decoder" else Reason.ROUTER_CONFIG_MISSING
    )
    assert caught.value.reason is reason
    assert f"runtime 'srt-llama' has no {component}Config" in caught.value.message


def test_a_component_the_service_gives_a_pod_needs_no_runtime_config() -> None:
    catalogue = (cluster_model(), cluster_runtime("srt-llama", routerConfig=None))
    rendered = objects(service(router={"runner": ROUTER_RUNNER}), *catalogue)
    assert named(rendered, "Deployment", "chat-router")


def test_every_child_is_owned_by_the_service() -> None:
    svc = service()
    svc.metadata.uid = "u-1"
    rendered = objects(svc)
    assert all(o["metadata"]["ownerReferences"][0]["uid"] == "u-1" for o in rendered)


def test_rdma_is_added_to_the_pods_that_ask_for_it() -> None:
    """Upstream's pod webhook (pkg/webhook/admission/pod/rdma_injector.go) adds the
    oci-roce profile to the container rdma.ome.io/container-name names."""
    leader = {**LEADER, "runner": {**RUNNER, "env": [{"name": "NCCL_DEBUG", "value": "WARN"}]}}
    engine = {
        "annotations": {"rdma.ome.io/auto-inject": "true"},
        "leader": leader,
        "worker": WORKER,
    }
    catalogue = (cluster_model(), cluster_runtime("srt-llama", engineConfig=engine))
    template = leader_worker_set(objects(None, *catalogue))["spec"]["leaderWorkerTemplate"]
    for pod in (template["leaderTemplate"]["spec"], template["workerTemplate"]["spec"]):
        (main,) = pod["containers"]
        assert env(main)["NCCL_IB_GID_INDEX"] == "3"
        assert {m["name"]: m["mountPath"] for m in main["volumeMounts"]}.items() >= {
            "dshm": "/dev/shm",
            "devinf": "/dev/infiniband",
        }.items()
        assert main["securityContext"] == {
            "capabilities": {"add": ["IPC_LOCK", "CAP_SYS_ADMIN"]},
            "privileged": True,
        }
        assert {"name": "dshm", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    (leader_main,) = template["leaderTemplate"]["spec"]["containers"]
    assert [e["value"] for e in leader_main["env"] if e["name"] == "NCCL_DEBUG"] == ["WARN"]


def test_an_unknown_rdma_profile_is_refused() -> None:
    notes = {"rdma.ome.io/auto-inject": "true", "rdma.ome.io/profile": "infiniband-x"}
    with pytest.raises(ServingError) as caught:
        objects(service(annotations=notes))
    assert caught.value.reason is Reason.UNKNOWN_RDMA_PROFILE
