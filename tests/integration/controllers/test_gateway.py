"""Ingress through the Gateway API end to end, against the Gateway API's own CRDs (from
its Go module, with their CEL validation): with ``enableGatewayAPI`` a service gets
HTTPRoutes the API server accepts, whose backends are the service's Services; it is Ready
only once a gateway controller (played here by the test, writing the routes' status)
accepts every route, and a refused route's reason becomes IngressReady's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ome.client import GVK, Client
from ome.controllers.inferenceservice import CONFIG_NAME
from ome.controllers.kinds import HTTPROUTE, INFERENCESERVICE, SERVICE
from ome.runtime import Manager
from ome.testing.pytest_plugin import Cluster
from tests.integration.controllers import test_inferenceservice as shared
from tests.integration.controllers.test_inferenceservice import _conditions, service_in
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
# the catalogue (upstream's Qwen model, runtime and sample) and the running controller
catalogue = shared.catalogue
manager = shared.manager

GATEWAY = "inference-gateway"
CONTROLLER = "example.com/test-gateway-controller"
NOW = "2026-01-01T00:00:00Z"


async def enable_gateway_api(client: Client, namespace: str) -> None:
    """inferenceservice-config of the operator (which reads it from the watched namespace
    here) with routes attached to a Gateway of the namespace."""
    ingress = {
        "ingressGateway": "knative-serving/knative-ingress-gateway",
        "ingressService": "istio-ingressgateway.istio-system.svc.cluster.local",
        "ingressDomain": "example.com",
        "omeIngressGateway": f"{namespace}/{GATEWAY}",
        "enableGatewayAPI": True,
    }
    configmaps = await client.resource(GVK("", "v1", "ConfigMap"))
    await configmaps.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_NAME, "namespace": namespace},
            "data": {"ingress": json.dumps(ingress)},
        }
    )


async def answer(
    client: Client, route: dict[str, Any], accepted: tuple[str, str], resolved: str = "True"
) -> None:
    """What a gateway controller writes: one parent with Accepted and ResolvedRefs."""
    meta = route["metadata"]
    parent_ref = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "namespace": meta["namespace"],
        "name": GATEWAY,
    }

    def condition(kind: str, status: str, reason: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": f"{kind} is {status} ({reason})",
            "lastTransitionTime": NOW,
            "observedGeneration": meta["generation"],
        }

    status = {
        "parents": [
            {
                "parentRef": parent_ref,
                "controllerName": CONTROLLER,
                "conditions": [
                    condition("Accepted", *accepted),
                    condition("ResolvedRefs", resolved, "ResolvedRefs"),
                ],
            }
        ]
    }
    body = {
        "apiVersion": HTTPROUTE.api_version,
        "kind": HTTPROUTE.kind,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "status": status,
    }
    routes = await client.resource(HTTPROUTE)
    await routes.apply_status(body, field_manager="test-gateway-controller", force=True)


@pytest.mark.parametrize("router", [False, True], ids=["engine", "engine-and-router"])
async def test_routes_are_accepted_and_gate_readiness(
    client: Client,
    namespace: str,
    catalogue: dict[str, Any],
    manager: Manager,
    router: bool,
) -> None:
    await enable_gateway_api(client, namespace)
    services = await client.resource(INFERENCESERVICE)
    routes = await client.resource(HTTPROUTE)
    kube_services = await client.resource(SERVICE)
    service = service_in(catalogue["sample"], namespace)  # the sample has a router
    if not router:
        del service["spec"]["router"]
    name = service["metadata"]["name"]
    expected = [f"{name}-engine", *([f"{name}-router"] if router else []), name]
    await services.create(service)

    async def routed() -> bool:
        return sorted(r["metadata"]["name"] for r in await routes.list(namespace)) == sorted(
            expected
        )

    await eventually(routed, timeout=60)
    entry = f"{name}-router" if router else f"{name}-engine"
    found = {r["metadata"]["name"]: r for r in await routes.list(namespace)}
    (rule,) = found[name]["spec"]["rules"]
    assert [b["name"] for b in rule["backendRefs"]] == [entry]
    for route in found.values():
        assert route["spec"]["parentRefs"][0]["name"] == GATEWAY
        for backend in route["spec"]["rules"][0]["backendRefs"]:
            backing = await kube_services.get(backend["name"], namespace)
            ports = [p["port"] for p in backing["spec"]["ports"]]
            assert backend["port"] in ports

    async def ingress(reason: str, status: str = "False") -> bool:
        conditions = _conditions(await services.get(name, namespace))
        found = conditions.get("IngressReady", {})
        return found.get("status") == status and found.get("reason", "") == reason

    # the components become ready; no gateway has answered yet
    await eventually(lambda: ingress("ParentStatusNotAvailable"), timeout=90)
    current = _conditions(await services.get(name, namespace))
    assert current["Ready"]["status"] == "False"

    for route in found.values():
        await answer(client, route, ("True", "Accepted"))
    refused = await routes.get(name, namespace)
    await answer(client, refused, ("False", "NotAllowedByListeners"))
    await eventually(lambda: ingress("NotAllowedByListeners"), timeout=60)
    message = _conditions(await services.get(name, namespace))["IngressReady"]["message"]
    assert f"route {name} on gateway {GATEWAY}" in message

    await answer(client, refused, ("True", "Accepted"))
    await eventually(lambda: ingress("", "True"), timeout=60)

    async def ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    await eventually(ready, timeout=60)
    current = await services.get(name, namespace)
    assert current["status"]["url"] == f"http://{name}.{namespace}.example.com"


async def test_prefill_decode_on_multi_node_is_routed_to_each_components_service(
    lws_cluster: Cluster,
    client: Client,
    namespace: str,
    catalogue: dict[str, Any],
    manager: Manager,
) -> None:
    """A multi-node engine (a LeaderWorkerSet), a decoder and a router: each route leads
    to its component's Service (the engine's selects its leaders), the service's route to
    the router, and the routes accepted make IngressReady True."""
    await enable_gateway_api(client, namespace)
    services = await client.resource(INFERENCESERVICE)
    routes = await client.resource(HTTPROUTE)
    kube_services = await client.resource(SERVICE)
    # the runtime's runner without its /dev/shm mount (the volume is the engineConfig's)
    runner = dict(catalogue["runtime"]["spec"]["engineConfig"]["runner"])
    del runner["volumeMounts"]
    service = service_in(
        catalogue["sample"],
        namespace,
        engine={
            "minReplicas": 1,
            "leader": {"runner": runner},
            "worker": {"size": 1, "runner": runner},
        },
        decoder={"minReplicas": 1, "runner": runner},
    )
    name = service["metadata"]["name"] = "pd-multi-node"
    await services.create(service)
    expected = {
        f"{name}-engine": f"{name}-engine",
        f"{name}-router": f"{name}-router",
        f"{name}-decoder": f"{name}-decoder",
        name: f"{name}-router",
    }

    async def routed() -> bool:
        return {r["metadata"]["name"] for r in await routes.list(namespace)} == set(expected)

    await eventually(routed, timeout=90)
    for route in await routes.list(namespace):
        (backend,) = route["spec"]["rules"][0]["backendRefs"]
        assert backend["name"] == expected[route["metadata"]["name"]]
        backing = await kube_services.get(backend["name"], namespace)
        assert backend["port"] in [p["port"] for p in backing["spec"]["ports"]]
    leaders = await kube_services.get(f"{name}-engine", namespace)
    assert leaders["spec"]["selector"]["ray.io/node-type"] == "head"

    for route in await routes.list(namespace):
        await answer(client, route, ("True", "Accepted"))

    async def ingress_ready() -> bool:
        conditions = _conditions(await services.get(name, namespace))
        return conditions.get("IngressReady", {}).get("status") == "True"

    await eventually(ingress_ready, timeout=120)
