"""Serverless components: the Knative Service rendered, and its status as ours."""

from __future__ import annotations

from typing import Any

from ome.api.v1beta1 import InferenceService
from ome.serving import compute_status, render_objects
from ome.serving.knative import CONTAINER_FIELDS, POD_FIELDS, component_status, traffic
from tests.unit.serving.helpers import kinds_and_names, named, plan, service

T0 = "2025-01-01T00:00:00Z"
KSVC = "serving.knative.dev/v1"


def ksvc_of(rendered: list[dict[str, Any]], name: str = "chat-engine") -> dict[str, Any]:
    (found,) = [o for o in rendered if o["apiVersion"] == KSVC and o["metadata"]["name"] == name]
    return found


def with_status(svc: InferenceService, status: dict[str, Any]) -> InferenceService:
    return InferenceService.model_validate(svc.model_dump(by_alias=True) | {"status": status})


def test_an_engine_that_scales_to_zero_is_a_knative_service() -> None:
    rendered = render_objects(plan(service(engine={"minReplicas": 0, "maxReplicas": 3})))
    # no Deployment, Service, autoscaler, PDB or Ingress: Knative makes and routes its own
    assert kinds_and_names(rendered) == [
        ("ConfigMap", "modelconfig-chat"),
        ("Service", "chat-engine"),
    ]
    ksvc = ksvc_of(rendered)
    assert ksvc["metadata"]["labels"]["ome.io/inferenceservice"] == "chat"
    assert ksvc["metadata"]["labels"]["component"] == "engine"
    assert "annotations" not in ksvc["metadata"]
    template = ksvc["spec"]["template"]
    assert template["metadata"]["labels"] == ksvc["metadata"]["labels"]
    notes = template["metadata"]["annotations"]
    assert notes["autoscaling.knative.dev/min-scale"] == "0"
    assert notes["autoscaling.knative.dev/max-scale"] == "3"
    assert notes["autoscaling.knative.dev/class"] == "kpa.autoscaling.knative.dev"
    assert "autoscaling.knative.dev/target" not in notes
    assert ksvc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]


def test_the_pod_keeps_what_a_revision_accepts() -> None:
    raw = named(render_objects(plan()), "Deployment", "chat-engine")["spec"]["template"]["spec"]
    rendered = render_objects(plan(service(engine={"minReplicas": 0})))
    pod = ksvc_of(rendered)["spec"]["template"]["spec"]
    assert "restartPolicy" in raw
    assert "terminationGracePeriodSeconds" in raw
    assert raw["dnsPolicy"] == "ClusterFirst"
    assert raw["schedulerName"] == "default-scheduler"
    # Kubernetes' defaults, which Knative refuses without feature flags, are left out
    assert set(pod) == set(raw) & POD_FIELDS - {"dnsPolicy", "schedulerName", "securityContext"}
    (container,) = pod["containers"]
    assert set(container) <= CONTAINER_FIELDS
    assert container["image"] == raw["containers"][0]["image"]
    assert container["env"] == raw["containers"][0]["env"]
    assert "containerConcurrency" not in pod
    assert "timeoutSeconds" not in pod


def test_pod_fields_other_than_the_defaults_are_kept() -> None:
    engine = {"minReplicas": 0, "dnsPolicy": "None", "securityContext": {"runAsUser": 1000}}
    pod = ksvc_of(render_objects(plan(service(engine=engine))))["spec"]["template"]["spec"]
    assert pod["dnsPolicy"] == "None"
    assert pod["securityContext"] == {"runAsUser": 1000}


def test_scaling_settings_and_timeouts() -> None:
    engine = {
        "minReplicas": 0,
        "scaleTarget": 5,
        "scaleMetric": "concurrency",
        "containerConcurrency": 4,
        "timeoutSeconds": 600,
        "annotations": {
            "autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev",
            "serving.knative.dev/rollout-duration": "120s",
        },
    }
    svc = service(engine=engine, labels={"networking.knative.dev/visibility": "cluster-local"})
    ksvc = ksvc_of(render_objects(plan(svc)))
    assert ksvc["metadata"]["annotations"] == {"serving.knative.dev/rollout-duration": "120s"}
    assert ksvc["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    template = ksvc["spec"]["template"]
    assert "networking.knative.dev/visibility" not in template["metadata"]["labels"]
    notes = template["metadata"]["annotations"]
    assert "serving.knative.dev/rollout-duration" not in notes
    assert notes["autoscaling.knative.dev/class"] == "hpa.autoscaling.knative.dev"
    assert notes["autoscaling.knative.dev/target"] == "5"
    assert notes["autoscaling.knative.dev/metric"] == "concurrency"
    assert notes["autoscaling.knative.dev/min-scale"] == "0"
    assert "autoscaling.knative.dev/max-scale" not in notes
    spec = template["spec"]
    assert spec["containerConcurrency"] == 4
    assert spec["timeoutSeconds"] == spec["responseStartTimeoutSeconds"] == 600


def test_min_scale_is_one_when_the_service_says_serverless_without_a_minimum() -> None:
    engine = {"annotations": {"ome.io/deploymentMode": "Serverless"}}
    ksvc = ksvc_of(render_objects(plan(service(engine=engine))))
    assert (
        ksvc["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
        == "1"
    )


def test_a_canary_splits_traffic_with_the_rolled_out_revision() -> None:
    svc = service(engine={"minReplicas": 0, "canaryTrafficPercent": 20})
    assert ksvc_of(render_objects(plan(svc)))["spec"]["traffic"] == [
        {"latestRevision": True, "percent": 100}
    ]  # nothing rolled out yet
    rolled = with_status(svc, {"components": {"engine": {"latestRolledoutRevision": "r1"}}})
    assert ksvc_of(render_objects(plan(rolled)))["spec"]["traffic"] == [
        {"latestRevision": True, "percent": 20},
        {"latestRevision": False, "percent": 80, "revisionName": "r1", "tag": "prev"},
    ]


def test_traffic_tags_and_a_full_canary() -> None:
    tagged = {"ome.io/enable-tag-routing": "true"}
    assert traffic(None, "r1", tagged) == [
        {"latestRevision": True, "percent": 100, "tag": "latest"}
    ]
    assert traffic(100, "r1", {}) == [{"latestRevision": True, "percent": 100}]


def test_a_serverless_router_is_the_way_in() -> None:
    svc = service(router={"minReplicas": 0})
    rendered = render_objects(plan(svc))
    kinds = kinds_and_names(rendered)
    assert ("Service", "chat-router") in kinds
    assert ("Deployment", "chat-engine") in kinds
    assert ksvc_of(rendered, "chat-router")["spec"]["template"]["spec"]["serviceAccountName"] == (
        "chat-router"
    )
    assert ("ServiceAccount", "chat-router") in kinds
    assert not [o for o in rendered if o["kind"] in ("Ingress", "HTTPRoute")]
    assert ("Service", "chat") not in kinds  # no external Service either


def test_a_serverless_engine_behind_a_router_keeps_the_routers_access() -> None:
    """Upstream's mistral samples: engine minReplicas 0, router minReplicas 1."""
    svc = service(engine={"minReplicas": 0}, router={"minReplicas": 1})
    kinds = kinds_and_names(render_objects(plan(svc)))
    assert ("Deployment", "chat-router") in kinds
    assert ("Deployment", "chat-engine") not in kinds
    assert ("Service", "chat") in kinds  # the external Service to the router


def test_an_inference_pool_holds_the_knative_services_pods() -> None:
    picker = {"ome.io/inference-pool-endpoint-picker": "chat-epp"}
    svc = service(engine={"minReplicas": 0}, annotations=picker)
    (pool,) = [o for o in render_objects(plan(svc)) if o["kind"] == "InferencePool"]
    assert pool["spec"]["selector"] == {
        "matchLabels": {"serving.knative.dev/service": "chat-engine"}
    }


def test_the_owner_is_the_service() -> None:
    svc = service(engine={"minReplicas": 0})
    svc.metadata.uid = "u-1"
    (owner,) = ksvc_of(render_objects(plan(svc)))["metadata"]["ownerReferences"]
    assert owner["uid"] == "u-1"
    assert owner["controller"] is True


# -- status --------------------------------------------------------------------------


def ksvc_status(
    ready: str | None = "True", reason: str = "", message: str = "", **fields: Any
) -> dict[str, Any]:
    conditions = []
    if ready is not None:
        for kind in ("Ready", "RoutesReady", "ConfigurationsReady"):
            condition = {"type": kind, "status": ready, "reason": reason, "message": message}
            conditions.append({k: v for k, v in condition.items() if v})
    return {"status": {"conditions": conditions, **fields}}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status["conditions"]}


SERVERLESS = service(engine={"minReplicas": 0})
READY_FIELDS = {
    "url": "http://chat-engine.team.example.com",
    "address": {"url": "http://chat-engine.team.svc.cluster.local"},
    "latestCreatedRevisionName": "chat-engine-00001",
    "latestReadyRevisionName": "chat-engine-00001",
    "traffic": [{"latestRevision": True, "percent": 100, "revisionName": "chat-engine-00001"}],
}


def test_a_knative_service_not_yet_reconciled_waits_for_knative() -> None:
    status = compute_status(plan(SERVERLESS), {"chat-engine": ksvc_status(None)}, [], T0)
    engine = next(c for c in status["conditions"] if c["type"] == "EngineReady")
    assert (engine["status"], engine["reason"]) == ("False", "Initializing")
    assert "Knative Serving" in engine["message"]
    assert conditions(status)["Ready"] == ("False", "Initializing")
    assert conditions(status)["IngressReady"] == ("False", "ComponentNotReady")
    assert conditions(status)["RoutesReady"] == ("Unknown", "EngineRouteReady not ready")
    assert "url" not in status


def test_a_ready_knative_service_makes_the_service_ready() -> None:
    observed = {"chat-engine": ksvc_status("True", **READY_FIELDS)}
    status = compute_status(plan(SERVERLESS), observed, [], T0)
    assert conditions(status) == {
        "EngineConfigurationReady": ("True", ""),
        "EngineReady": ("True", ""),
        "EngineRouteReady": ("True", ""),
        "IngressReady": ("True", ""),
        "LatestDeploymentReady": ("True", ""),
        "Ready": ("True", ""),
        "RoutesReady": ("True", ""),
    }
    assert status["url"] == "http://chat-engine.team.example.com"
    assert status["address"] == {"url": "http://chat-engine.team.svc.cluster.local"}
    assert status["components"]["engine"] == {
        "url": "http://chat-engine.team.example.com",
        "address": {"url": "http://chat-engine.team.svc.cluster.local"},
        "latestCreatedRevision": "chat-engine-00001",
        "latestReadyRevision": "chat-engine-00001",
        "latestRolledoutRevision": "chat-engine-00001",
        "traffic": READY_FIELDS["traffic"],
    }


def test_a_failing_knative_service_shows_its_reason() -> None:
    message = "Revision chat-engine-00001 failed with message: image pull failed"
    observed = {"chat-engine": ksvc_status("False", "RevisionFailed", message)}
    status = compute_status(plan(SERVERLESS), observed, [], T0)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "RevisionFailed",
        message,
    )
    assert conditions(status)["LatestDeploymentReady"] == (
        "False",
        "EngineConfigurationReady not ready",
    )
    assert "url" not in status["components"]["engine"]


def test_knative_conditions_go_when_the_component_is_a_deployment_again() -> None:
    observed = {"chat-engine": ksvc_status("True", **READY_FIELDS)}
    before = compute_status(plan(SERVERLESS), observed, [], T0)
    raw = with_status(service(), before)
    after = compute_status(plan(raw), {}, [], T0)
    assert not {"EngineRouteReady", "RoutesReady", "LatestDeploymentReady"} & set(conditions(after))


def test_revisions_roll_out_with_the_traffic() -> None:
    def observed(ready: str, created: str, *targets: dict[str, Any]) -> dict[str, Any]:
        fields = {
            "latestReadyRevisionName": ready,
            "latestCreatedRevisionName": created,
            "traffic": list(targets),
        }
        return ksvc_status("True", **fields)

    first = component_status(
        {}, observed("r1", "r1", {"revisionName": "r1", "latestRevision": True, "percent": 100})
    )
    assert first["latestRolledoutRevision"] == "r1"
    assert "previousRolledoutRevision" not in first
    # a canary of r2 at 20 %: r1 stays the rolled-out revision
    canary = component_status(
        first,
        observed(
            "r2",
            "r2",
            {"revisionName": "r2", "latestRevision": True, "percent": 20},
            {"revisionName": "r1", "latestRevision": False, "percent": 80, "tag": "prev"},
        ),
    )
    assert canary["latestRolledoutRevision"] == "r1"
    assert (canary["latestCreatedRevision"], canary["latestReadyRevision"]) == ("r2", "r2")
    # promoted to 100 %: r2 is rolled out, r1 the previous
    promoted = component_status(
        canary,
        observed("r2", "r2", {"revisionName": "r2", "latestRevision": True, "percent": 100}),
    )
    assert (promoted["latestRolledoutRevision"], promoted["previousRolledoutRevision"]) == (
        "r2",
        "r1",
    )
    # traffic split over r2 alone after a rollback of the spec: back to r1
    rolled_back = component_status(
        promoted,
        observed(
            "r2",
            "r2",
            {"revisionName": "r2", "latestRevision": True, "percent": 50},
            {"revisionName": "r2", "latestRevision": False, "percent": 50},
        ),
    )
    assert rolled_back["latestRolledoutRevision"] == "r1"
