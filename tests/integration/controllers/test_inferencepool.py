"""The InferencePool of a service annotated ``ome.io/inference-pool-endpoint-picker``,
against the Gateway API Inference Extension's own CRD (from its Go module, with its CEL
validation): the API server accepts it, it selects exactly the engine's pods (not the
router's), and removing the annotation removes the pool."""

from __future__ import annotations

from typing import Any

import pytest

from ome.client import Client
from ome.controllers.kinds import INFERENCEPOOL, INFERENCESERVICE, POD
from ome.runtime import Manager
from tests.integration.controllers import test_inferenceservice as shared
from tests.integration.controllers.test_inferenceservice import get_or_none, service_in
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
catalogue = shared.catalogue
manager = shared.manager

PICKER_ANNOTATION = "ome.io/inference-pool-endpoint-picker"


def selector_text(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())


async def test_the_pool_is_valid_and_selects_exactly_the_engine_pods(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    pools = await client.resource(INFERENCEPOOL)
    pods = await client.resource(POD)
    service = service_in(catalogue["sample"], namespace)  # an engine and a router
    name = service["metadata"]["name"]
    service["metadata"].setdefault("annotations", {})[PICKER_ANNOTATION] = "epp:9002"
    await services.create(service)

    async def pooled_and_running() -> bool:
        pool = await get_or_none(pools, f"{name}-pool", namespace)
        if pool is None:
            return False
        of_service = await pods.list(namespace, label_selector=f"ome.io/inferenceservice={name}")
        components = {p["metadata"]["labels"].get("component") for p in of_service}
        running = all(p["status"].get("phase") == "Running" for p in of_service)
        return components == {"engine", "router"} and running

    await eventually(pooled_and_running, timeout=60)
    pool = await pools.get(f"{name}-pool", namespace)
    assert pool["spec"]["endpointPickerRef"]["name"] == "epp"
    assert pool["spec"]["endpointPickerRef"]["port"] == {"number": 9002}
    selected = await pods.list(
        namespace, label_selector=selector_text(pool["spec"]["selector"]["matchLabels"])
    )
    engine = await pods.list(
        namespace, label_selector=f"ome.io/inferenceservice={name},component=engine"
    )
    assert engine
    assert {p["metadata"]["name"] for p in selected} == {p["metadata"]["name"] for p in engine}
    port = engine[0]["spec"]["containers"][0]["ports"][0]["containerPort"]
    assert pool["spec"]["targetPorts"] == [{"number": port}]

    await services.patch(name, {"metadata": {"annotations": {PICKER_ANNOTATION: None}}}, namespace)

    async def pool_gone() -> bool:
        return await get_or_none(pools, f"{name}-pool", namespace) is None

    await eventually(pool_gone, timeout=30)
