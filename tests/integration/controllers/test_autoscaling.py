"""Autoscaler classes end to end: ``ome.io/autoscalerClass: keda`` gets a KEDA ScaledObject
that KEDA's own CRD (from its Go module) accepts, and switching between hpa, keda and
external leaves exactly the one autoscaler the class asks for."""

from __future__ import annotations

from typing import Any

import pytest

from ome.client import Client
from ome.controllers.kinds import HPA, INFERENCESERVICE, SCALEDOBJECT
from ome.runtime import Manager
from tests.integration.controllers import test_inferenceservice as shared
from tests.integration.controllers.test_inferenceservice import _conditions, service_in
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
# the catalogue (upstream's Qwen model, runtime and sample) and the running controller
catalogue = shared.catalogue
manager = shared.manager

CLASS = "ome.io/autoscalerClass"


async def autoscalers(client: Client, namespace: str) -> list[tuple[str, str]]:
    found = []
    for kind in (HPA, SCALEDOBJECT):
        resource = await client.resource(kind)
        found += [(kind.kind, o["metadata"]["name"]) for o in await resource.list(namespace)]
    return sorted(found)


async def test_class_switches_leave_exactly_one_autoscaler(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    service = service_in(catalogue["sample"], namespace)
    name = service["metadata"]["name"]
    engine, router = f"{name}-engine", f"{name}-router"  # the sample has a router
    service["metadata"]["annotations"] = {
        CLASS: "keda",
        "autoscaling.keda.sh/threshold": "5",
    }
    service["spec"]["kedaConfig"] = {
        "promServerAddress": "http://prometheus.monitoring:9090",
        "authenticationRef": {"name": "prometheus-auth"},
        "authModes": "bearer",
    }
    await services.create(service)

    async def only(expected: list[tuple[str, str]]) -> bool:
        return await autoscalers(client, namespace) == expected

    keda = [("ScaledObject", f"scaledobject-{engine}"), ("ScaledObject", f"scaledobject-{router}")]
    await eventually(lambda: only(keda), timeout=60)
    scaled = await (await client.resource(SCALEDOBJECT)).get(keda[0][1], namespace)
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metadata"]["threshold"] == "5"  # the annotation wins
    assert trigger["metadata"]["serverAddress"] == "http://prometheus.monitoring:9090"
    assert trigger["metadata"]["authModes"] == "bearer"
    assert trigger["authenticationRef"] == {
        "name": "prometheus-auth",
        "kind": "TriggerAuthentication",
    }
    assert scaled["spec"]["scaleTargetRef"]["name"] == engine
    assert scaled["metadata"]["ownerReferences"][0]["name"] == name

    async def ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    await eventually(ready, timeout=60)

    async def switch(to: str) -> None:
        patch = {"metadata": {"annotations": {CLASS: to}}}
        await services.patch(name, patch, namespace)

    await switch("hpa")
    hpa = [("HorizontalPodAutoscaler", engine), ("HorizontalPodAutoscaler", router)]
    await eventually(lambda: only(hpa), timeout=60)
    await switch("external")
    await eventually(lambda: only([]), timeout=60)
    await switch("keda")
    await eventually(lambda: only(keda), timeout=60)
    await eventually(ready, timeout=60)
