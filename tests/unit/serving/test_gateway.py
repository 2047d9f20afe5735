"""Gateway API HTTPRoutes for every component layout, and IngressReady from their status."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import Reason, ServingConfig, ServingError, compute_status, render_objects
from ome.serving.config import IngressConfig
from tests.unit.serving.helpers import (
    RUNNER,
    by_kind,
    cluster_model,
    cluster_runtime,
    named,
    plan,
    service,
)

GATEWAY = ServingConfig(
    ingress=IngressConfig(
        ingress_gateway="g",
        ingress_service="s",
        ingress_domain="example.com",
        ome_ingress_gateway="ome/inference-gateway",
        enable_gateway_api=True,
    )
)
MULTI_NODE = {"leader": {"runner": RUNNER}, "worker": {"size": 1, "runner": RUNNER}}
NOW = "2026-01-01T00:00:00Z"


def routes(svc: Any = None, *catalogue: Any, config: ServingConfig = GATEWAY) -> list[Any]:
    return by_kind(render_objects(plan(svc, *catalogue, config=config)), "HTTPRoute")


def backends(route: dict[str, Any]) -> list[tuple[str, int]]:
    (rule,) = route["spec"]["rules"]
    return [(b["name"], b["port"]) for b in rule["backendRefs"]]


def test_an_engine_only_service_gets_a_route_per_host_and_no_ingress() -> None:
    rendered = render_objects(plan(config=GATEWAY))
    assert not by_kind(rendered, "Ingress")
    found = by_kind(rendered, "HTTPRoute")
    assert [r["metadata"]["name"] for r in found] == ["chat-engine", "chat"]
    engine, own = found
    assert engine["spec"]["hostnames"] == ["chat-engine.team.example.com"]
    assert own["spec"]["hostnames"] == ["chat.team.example.com"]
    assert backends(engine) == backends(own) == [("chat-engine", 8080)]
    assert engine["metadata"]["labels"]["component"] == "engine"
    assert "component" not in own["metadata"]["labels"]
    assert own["metadata"]["labels"]["ome.io/inferenceservice"] == "chat"


def test_the_route_spec_is_upstreams() -> None:
    """upstream httproute_builder.go: parentRef from omeIngressGateway, every path as a
    regular expression, the service headers set, a 60 s request timeout."""
    (_, own) = routes()
    assert own["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert own["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "ome",
            "name": "inference-gateway",
        }
    ]
    (rule,) = own["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "RegularExpression", "value": "^/.*$"}}]
    assert rule["filters"] == [
        {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {
                "set": [
                    {"name": "OMe-Isvc-Name", "value": "chat"},
                    {"name": "OME-Isvc-Namespace", "value": "team"},
                ]
            },
        }
    ]
    assert rule["timeouts"] == {"request": "60s"}
    assert rule["backendRefs"][0] | {"port": 0} == {
        "group": "",
        "kind": "Service",
        "name": "chat-engine",
        "namespace": "team",
        "port": 0,
        "weight": 1,
    }


def test_a_router_fronts_the_service_and_timeouts_are_per_component() -> None:
    svc = service(engine={"minReplicas": 1, "timeoutSeconds": 600}, router={"minReplicas": 1})
    found = {r["metadata"]["name"]: r for r in routes(svc)}
    assert list(found) == ["chat-engine", "chat-router", "chat"]
    assert backends(found["chat"]) == [("chat-router", 8000)]
    assert backends(found["chat-router"]) == [("chat-router", 8000)]
    assert found["chat-engine"]["spec"]["rules"][0]["timeouts"] == {"request": "600s"}
    assert found["chat"]["spec"]["rules"][0]["timeouts"] == {"request": "60s"}


def test_prefill_decode_routes_each_component_to_its_own_service() -> None:
    runtime = cluster_runtime(
        "srt-llama", decoderConfig={"runner": dict(RUNNER)}, routerConfig=None
    )
    svc = service(decoder={"minReplicas": 1}, router=None)
    found = {r["metadata"]["name"]: backends(r) for r in routes(svc, cluster_model(), runtime)}
    assert found == {
        "chat-engine": [("chat-engine", 8080)],
        "chat-decoder": [("chat-decoder", 8080)],
        "chat": [("chat-engine", 8080)],
    }


def test_a_multi_node_engine_is_reached_through_its_leaders_service() -> None:
    runtime = cluster_runtime("srt-llama", engineConfig=MULTI_NODE)
    rendered = render_objects(plan(None, cluster_model(), runtime, config=GATEWAY))
    leaders = named(rendered, "Service", "chat-engine")
    assert leaders["spec"]["selector"]["ray.io/node-type"] == "head"
    found = {r["metadata"]["name"]: backends(r) for r in by_kind(rendered, "HTTPRoute")}
    assert found == {"chat-engine": [("chat-engine", 8080)], "chat": [("chat-engine", 8080)]}


def test_additional_domains_add_hosts_to_the_services_route() -> None:
    svc = service(annotations={"ome.io/ingress-additional-domains": "example.org, bad_domain"})
    (_, own) = routes(svc)
    assert own["spec"]["hostnames"] == ["chat.team.example.com", "chat.team.example.org"]


@pytest.mark.parametrize("gateway", ["", "inference-gateway", "a/b/c", "/b"])
def test_the_gateway_must_be_namespace_and_name(gateway: str) -> None:
    config = ServingConfig(
        ingress=IngressConfig(
            ingress_gateway="g",
            ingress_service="s",
            ome_ingress_gateway=gateway,
            enable_gateway_api=True,
        )
    )
    with pytest.raises(ServingError) as caught:
        plan(config=config)
    assert caught.value.reason is Reason.INVALID_INGRESS_GATEWAY
    assert "omeIngressGateway" in caught.value.message


def available_deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "chat-engine"},
        "status": {"conditions": [{"type": "Available", "status": "True"}]},
    }


def route_status(*conditions: tuple[str, str, str]) -> dict[str, Any]:
    parent = {
        "parentRef": {"name": "inference-gateway", "namespace": "ome"},
        "controllerName": "example.com/gateway",
        "conditions": [
            {"type": kind, "status": status, "reason": reason, "message": f"{kind} says {reason}"}
            for kind, status, reason in conditions
        ],
    }
    return {"status": {"parents": [parent]}}


def conditions(observed_routes: dict[str, Any]) -> dict[str, Any]:
    planned = plan(config=GATEWAY)
    status = compute_status(
        planned, {"chat-engine": available_deployment()}, [], NOW, observed_routes
    )
    return {c["type"]: c for c in status["conditions"]} | {"_status": status}


def test_ingress_is_ready_once_every_route_is_accepted() -> None:
    accepted = route_status(("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "x"))
    found = conditions({"chat-engine": accepted, "chat": accepted})
    assert found["IngressReady"]["status"] == "True"
    assert found["Ready"]["status"] == "True"
    assert found["_status"]["url"] == "http://chat.team.example.com"
    assert found["_status"]["address"] == {"url": "http://chat-engine.team.svc.cluster.local:8080"}


def test_a_route_without_a_gateways_answer_is_not_ready() -> None:
    accepted = route_status(("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "x"))
    found = conditions({"chat-engine": accepted, "chat": {}})
    assert found["IngressReady"]["status"] == "False"
    assert found["IngressReady"]["reason"] == "ParentStatusNotAvailable"
    assert found["Ready"]["status"] == "False"


def test_a_refused_route_gives_its_reason() -> None:
    refused = route_status(
        ("Accepted", "False", "NotAllowedByListeners"), ("ResolvedRefs", "True", "x")
    )
    accepted = route_status(("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "x"))
    found = conditions({"chat-engine": accepted, "chat": refused})
    assert found["IngressReady"]["reason"] == "NotAllowedByListeners"
    assert "route chat on gateway inference-gateway" in found["IngressReady"]["message"]
    unresolved = route_status(
        ("Accepted", "True", "Accepted"), ("ResolvedRefs", "False", "BackendNotFound")
    )
    found = conditions({"chat-engine": unresolved, "chat": accepted})
    assert found["IngressReady"]["reason"] == "BackendNotFound"
    assert found["IngressReady"]["message"].startswith("engine route chat-engine")
