"""Revisions and canary rollouts, rendered and reported: which revision the Deployment
keeps, the canary's objects, the routes' weights, and the status' revision fields and
traffic (upstream's ComponentStatusSpec and Knative TrafficTarget fields)."""

from __future__ import annotations

from typing import Any

from ome.serving import compute_status, render_objects
from ome.serving.components import Component
from ome.serving.config import IngressConfig, ServingConfig
from ome.serving.plan import ServingPlan
from ome.serving.revisions import Rollout, plan_rollout, template_revision
from tests.unit.serving.helpers import by_kind, named, plan, service
from tests.unit.serving.test_gateway import GATEWAY

T0 = "2026-01-01T00:00:00Z"


def engine(version: str, **fields: Any) -> dict[str, Any]:
    runner = {"env": [{"name": "SERVED_VERSION", "value": version}]}
    return {"minReplicas": 2, "runner": runner, **fields}


def planned(version: str, config: ServingConfig | None = None, **fields: Any) -> ServingPlan:
    return plan(service(engine=engine(version, **fields)), config=config)


def running(of: ServingPlan, previous: str | None = None) -> dict[str, Any]:
    """The engine's Deployment as the cluster has it after ``of`` was rolled out."""
    (workload,) = of.workloads
    rollout = Rollout(template_revision(workload), previous=previous)
    deployment = named(
        render_objects(of, rollouts={Component.ENGINE: rollout}), "Deployment", "chat-engine"
    )
    return deployment


def rollout_of(of: ServingPlan, deployment: dict[str, Any] | None) -> dict[Component, Rollout]:
    (workload,) = of.workloads
    return {Component.ENGINE: plan_rollout(workload, deployment)}


def test_a_revision_changes_with_what_is_served_only() -> None:
    (v1,) = planned("v1").workloads
    (v1_scaled,) = plan(service(engine=engine("v1") | {"maxReplicas": 9})).workloads
    (v2,) = planned("v2").workloads
    assert template_revision(v1) == template_revision(v1_scaled)
    assert template_revision(v1) != template_revision(v2)
    assert template_revision(v1).startswith("chat-engine-")


def test_the_first_revision_is_annotated_and_takes_all_traffic() -> None:
    first = planned("v1")
    rollouts = rollout_of(first, None)
    deployment = named(render_objects(first, rollouts=rollouts), "Deployment", "chat-engine")
    revision = rollouts[Component.ENGINE].latest
    assert deployment["metadata"]["annotations"]["serving.ome.io/revision"] == revision
    status = compute_status(first, {}, [], T0, rollouts=rollouts)
    assert status["components"]["engine"]["traffic"] == [
        {"revisionName": revision, "latestRevision": True, "percent": 100}
    ]
    assert status["components"]["engine"]["latestCreatedRevision"] == revision


def test_a_canary_keeps_the_stable_template_and_adds_its_own_deployment() -> None:
    stable = running(planned("v1"))
    second = planned("v2", canaryTrafficPercent=20)
    rollouts = rollout_of(second, stable)
    assert rollouts[Component.ENGINE].canary
    objects = render_objects(second, rollouts=rollouts)
    kept = named(objects, "Deployment", "chat-engine")
    assert kept["spec"]["template"] == stable["spec"]["template"]
    assert kept["metadata"]["annotations"] == stable["metadata"]["annotations"]
    canary = named(objects, "Deployment", "chat-engine-canary")
    assert canary["spec"]["replicas"] == 2  # minReplicas: the canary is not autoscaled
    env = canary["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SERVED_VERSION", "value": "v2"} in env
    assert canary["spec"]["selector"]["matchLabels"] == {"app": "chat-engine-canary"}
    assert named(objects, "Service", "chat-engine")["spec"]["selector"] == {"app": "chat-engine"}
    assert named(objects, "Service", "chat-engine-canary")["spec"]["selector"] == {
        "app": "chat-engine-canary"
    }
    assert canary["metadata"]["annotations"]["serving.ome.io/revision"] == (
        rollouts[Component.ENGINE].latest
    )


def test_canary_routes_are_weighted_and_the_status_says_so() -> None:
    first = planned("v1")
    stable = running(first)
    second = planned("v2", config=GATEWAY, canaryTrafficPercent=20)
    rollouts = rollout_of(second, stable)
    routes = by_kind(render_objects(second, rollouts=rollouts), "HTTPRoute")
    for route in routes:
        backends = route["spec"]["rules"][0]["backendRefs"]
        assert [(b["name"], b["weight"]) for b in backends] == [
            ("chat-engine", 80),
            ("chat-engine-canary", 20),
        ]
    latest = rollouts[Component.ENGINE].latest
    old = stable["metadata"]["annotations"]["serving.ome.io/revision"]
    status = compute_status(second, {"chat-engine": stable}, [], T0, rollouts=rollouts)
    engine_status = status["components"]["engine"]
    assert engine_status["traffic"] == [
        {"revisionName": latest, "latestRevision": True, "percent": 20},
        {"revisionName": old, "latestRevision": False, "percent": 80, "tag": "prev"},
    ]
    assert engine_status["latestRolledoutRevision"] == old
    assert engine_status["latestReadyRevision"] == old  # the canary is not available yet
    assert "TrafficSplit" not in {c["type"] for c in status["conditions"]}


def test_an_ingress_cannot_split_and_a_condition_says_so() -> None:
    stable = running(planned("v1"))
    ingress = ServingConfig(ingress=IngressConfig(ingress_gateway="g", ingress_service="s"))
    second = planned("v2", config=ingress, canaryTrafficPercent=20)
    status = compute_status(second, {}, [], T0, rollouts=rollout_of(second, stable))
    (split,) = [c for c in status["conditions"] if c["type"] == "TrafficSplit"]
    assert (split["status"], split["reason"], split["severity"]) == (
        "False",
        "IngressCannotSplit",
        "Info",
    )
    assert "Gateway API" in split["message"]


def test_promotion_rolls_the_deployment_and_remembers_the_previous_revision() -> None:
    stable = running(planned("v1"))
    old = stable["metadata"]["annotations"]["serving.ome.io/revision"]
    promoted = planned("v2")  # canaryTrafficPercent removed
    rollouts = rollout_of(promoted, stable)
    assert not rollouts[Component.ENGINE].canary
    objects = render_objects(promoted, rollouts=rollouts)
    assert not [
        d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("-canary")
    ]
    rolled = named(objects, "Deployment", "chat-engine")
    notes = rolled["metadata"]["annotations"]
    assert notes["serving.ome.io/revision"] == rollouts[Component.ENGINE].latest
    assert notes["serving.ome.io/previous-revision"] == old
    # once rolled, the next reconcile keeps the same bookkeeping
    again = rollout_of(promoted, rolled)[Component.ENGINE]
    assert (again.latest, again.previous, again.canary) == (
        rollouts[Component.ENGINE].latest,
        old,
        False,
    )
    status = compute_status(promoted, {}, [], T0, rollouts={Component.ENGINE: again})
    assert status["components"]["engine"]["previousRolledoutRevision"] == old


def test_a_hundred_percent_is_a_promotion_and_the_stable_spec_a_rollback() -> None:
    first = planned("v1")
    stable = running(first)
    assert not rollout_of(planned("v2", canaryTrafficPercent=100), stable)[Component.ENGINE].canary
    back = rollout_of(planned("v1", canaryTrafficPercent=20), stable)[Component.ENGINE]
    assert not back.canary
    assert back.latest == stable["metadata"]["annotations"]["serving.ome.io/revision"]
