"""Serverless mode end to end, against Knative Serving's own CRDs (from its Go module):
upstream's mistral-7b-instruct-v0-2 sample, unchanged but for its namespace (an engine
with ``minReplicas: 0``, so Serverless, behind a router), with its model (back-filled as
the agent would) and runtime. The engine becomes a Knative Service the API server accepts
with nothing pruned; the service waits for Knative until a Knative controller (played
here by the test, writing the Knative Service's status) reports it Ready, then is Ready
with the Knative Service's URL and revisions; a Knative Service that fails shows why.
The pod fields rendered are those Knative's Revision schema has; an operator that does
not watch Knative Services says that Knative Serving is missing."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.api.v1beta1 import ClusterBaseModel, ClusterServingRuntime, InferenceService
from ome.client import GVK, Client
from ome.controllers.inferenceservice import setup
from ome.controllers.kinds import DEPLOYMENT, INFERENCESERVICE, KNATIVE_SERVICE, NODE
from ome.runtime import Manager
from ome.serving import MemoryCatalog, parse_config, plan_service, render_objects
from ome.serving.knative import CONTAINER_FIELDS, POD_FIELDS
from ome.serving.naming import model_ready_label
from ome.testing.pytest_plugin import Cluster
from tests.compat.backfill import backfilled_catalogue
from tests.compat.reference import CONFIG
from tests.integration.controllers.support import running_controller, running_manager
from tests.integration.controllers.test_inferenceservice import NODES, _conditions, get_or_none
from tests.integration.helpers import applied, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = CONFIG / "samples" / "isvc" / "mistralai" / "mistral-7b-instruct-v0-2.yaml"
MODEL, RUNTIME = "mistral-7b-instruct-v0-2", "srt-mistral-7b-instruct-v0-2"
FIELD_MANAGER = "test-knative-controller"
NOW = "2026-01-01T00:00:00Z"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def catalogue(cluster: Cluster) -> AsyncIterator[list[dict[str, Any]]]:
    """The sample's model (back-filled) and runtime, its model on the session's nodes."""
    if not SAMPLE.exists():
        pytest.skip(f"the OME reference catalogue is not at {CONFIG}")
    objects = [o for o in backfilled_catalogue() if o["metadata"]["name"] in (MODEL, RUNTIME)]
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    async with applied(cluster, objects), await cluster.client() as admin:
        nodes = await admin.resource(NODE)
        label = model_ready_label(MODEL, None)
        for node in NODES:
            await nodes.patch(node, {"metadata": {"labels": {label: "Ready"}}})
        try:
            yield objects
        finally:
            for node in NODES:
                await nodes.patch(node, {"metadata": {"labels": {label: None}}})


@pytest_asyncio.fixture(loop_scope="session")
async def manager(
    cluster: Cluster, namespace: str, catalogue: list[dict[str, Any]]
) -> AsyncIterator[Manager]:
    async with running_controller(cluster, namespace, workers=2) as running:
        yield running


def sample(namespace: str, router: bool = True) -> dict[str, Any]:
    service: dict[str, Any] = yaml.safe_load(SAMPLE.read_text())
    service["metadata"]["namespace"] = namespace
    if not router:
        del service["spec"]["router"]
    return service


def rendered_ksvc(service: dict[str, Any], catalogue: list[dict[str, Any]]) -> dict[str, Any]:
    """The Knative Service the controller renders for ``service`` (as stored)."""
    kinds = {"ClusterBaseModel": ClusterBaseModel, "ClusterServingRuntime": ClusterServingRuntime}
    found = MemoryCatalog.of([kinds[o["kind"]].model_validate(o) for o in catalogue])
    planned = plan_service(InferenceService.model_validate(service), found, parse_config({}))
    (ksvc,) = [o for o in render_objects(planned) if o["apiVersion"] == KNATIVE_SERVICE.api_version]
    return ksvc


async def report(
    client: Client,
    ksvc: dict[str, Any],
    ready: tuple[str, str, str],
    **fields: Any,
) -> None:
    """What Knative Serving's controller writes: Ready, RoutesReady and
    ConfigurationsReady alike, and ``fields`` (url, revisions, traffic)."""
    status, reason, message = ready
    conditions = [
        {
            k: v
            for k, v in {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": NOW,
            }.items()
            if v
        }
        for kind in ("ConfigurationsReady", "Ready", "RoutesReady")
    ]
    meta = ksvc["metadata"]
    body = {
        "apiVersion": KNATIVE_SERVICE.api_version,
        "kind": KNATIVE_SERVICE.kind,
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "status": {
            "observedGeneration": meta["generation"],
            "conditions": conditions,
            **fields,
        },
    }
    services = await client.resource(KNATIVE_SERVICE)
    await services.apply_status(body, field_manager=FIELD_MANAGER, force=True)


def ready_fields(name: str, namespace: str) -> dict[str, Any]:
    revision = f"{name}-00001"
    return {
        "url": f"http://{name}.{namespace}.example.com",
        "address": {"url": f"http://{name}.{namespace}.svc.cluster.local"},
        "latestCreatedRevisionName": revision,
        "latestReadyRevisionName": revision,
        "traffic": [{"revisionName": revision, "latestRevision": True, "percent": 100}],
    }


async def made(resource: Any, name: str, namespace: str) -> dict[str, Any]:
    """The object once the operator has made it."""

    async def exists() -> bool:
        return await get_or_none(resource, name, namespace) is not None

    await eventually(exists)
    return dict(await resource.get(name, namespace))


async def test_a_serverless_engine_behind_a_router_becomes_ready_with_knative(
    client: Client, namespace: str, catalogue: list[dict[str, Any]], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    ksvcs = await client.resource(KNATIVE_SERVICE)
    deployments = await client.resource(DEPLOYMENT)
    service = sample(namespace)
    name = service["metadata"]["name"]
    engine = f"{name}-engine"
    await services.create(service)

    stored = await made(ksvcs, engine, namespace)
    owner = stored["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("InferenceService", name, True)
    # accepted as rendered: Knative's schema kept every field of the revision template
    current = await services.get(name, namespace)
    assert stored["spec"] == rendered_ksvc(current, catalogue)["spec"]
    assert (
        stored["spec"]["template"]["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
        == "0"
    )

    # the router is a Deployment as ever (applied after the engine's Knative Service, so
    # maybe not yet); the engine has none
    async def router_deployed() -> bool:
        return await get_or_none(deployments, f"{name}-router", namespace) is not None

    await eventually(router_deployed)
    assert await get_or_none(deployments, engine, namespace) is None

    async def waiting_for_knative() -> bool:
        current = await services.get(name, namespace)
        engine_ready = _conditions(current).get("EngineReady", {})
        return engine_ready.get("reason") == "Initializing" and "Knative Serving" in (
            engine_ready.get("message", "")
        )

    await eventually(waiting_for_knative)
    assert _conditions(await services.get(name, namespace))["Ready"]["status"] == "False"

    fields = ready_fields(engine, namespace)
    await report(client, stored, ("True", "", ""), **fields)

    async def ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    await eventually(ready, timeout=120)
    status = (await services.get(name, namespace))["status"]
    components = status["components"]["engine"]
    assert components["url"] == fields["url"]
    assert components["latestReadyRevision"] == f"{engine}-00001"
    assert components["latestCreatedRevision"] == f"{engine}-00001"
    assert components["latestRolledoutRevision"] == f"{engine}-00001"
    assert components["traffic"] == fields["traffic"]
    conditions = _conditions({"status": status})
    for kind in ("EngineRouteReady", "EngineConfigurationReady", "RoutesReady"):
        assert conditions[kind]["status"] == "True", kind
    # the service's own URL is the external Service to the router
    assert status["url"].startswith(f"http://{name}.{namespace}.svc")


async def test_a_serverless_engine_alone_is_reached_through_knative(
    client: Client, namespace: str, catalogue: list[dict[str, Any]], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    ksvcs = await client.resource(KNATIVE_SERVICE)
    service = sample(namespace, router=False)
    name = service["metadata"]["name"]
    engine = f"{name}-engine"
    await services.create(service)

    stored = await made(ksvcs, engine, namespace)
    fields = ready_fields(engine, namespace)
    await report(client, stored, ("True", "", ""), **fields)

    async def ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    await eventually(ready)
    status = (await services.get(name, namespace))["status"]
    assert status["url"] == fields["url"]
    assert status["address"] == fields["address"]

    message = f"Revision {engine}-00002 failed with message: image pull back-off"
    failed = copy.deepcopy(fields) | {"latestCreatedRevisionName": f"{engine}-00002"}
    await report(client, stored, ("False", "RevisionFailed", message), **failed)

    async def failing() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready.get("status") == "False" and ready.get("reason") == "RevisionFailed"

    await eventually(failing)
    current = await services.get(name, namespace)
    assert _conditions(current)["Ready"]["message"] == message
    assert _conditions(current)["EngineReady"]["reason"] == "RevisionFailed"
    assert current["status"]["components"]["engine"]["latestCreatedRevision"] == f"{engine}-00002"


async def test_the_pod_fields_kept_are_knatives(client: Client) -> None:
    """What the rendering keeps of a pod is what Knative's Service schema has room for."""
    crds = await client.resource(GVK("apiextensions.k8s.io", "v1", "CustomResourceDefinition"))
    crd = await crds.get("services.serving.knative.dev")
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    pod = spec["template"]["properties"]["spec"]["properties"]
    assert set(pod) >= POD_FIELDS
    assert set(pod["containers"]["items"]["properties"]) >= CONTAINER_FIELDS
    assert not {"restartPolicy", "terminationGracePeriodSeconds"} & set(pod)


async def test_without_knative_serving_the_service_says_so(
    cluster: Cluster, client: Client, namespace: str, catalogue: list[dict[str, Any]]
) -> None:
    services = await client.resource(INFERENCESERVICE)
    service = sample(namespace)
    name = service["metadata"]["name"]

    def without_knative(manager: Manager) -> None:
        setup(manager, workers=1, watch_knativeservices=False)

    async with running_manager(cluster, namespace, without_knative):
        await services.create(service)

        async def refused() -> bool:
            ready = _conditions(await services.get(name, namespace)).get("Ready", {})
            return ready.get("reason") == "KnativeServingUnavailable"

        await eventually(refused)
    ready = _conditions(await services.get(name, namespace))["Ready"]
    assert "serving.knative.dev/v1" in ready["message"]
    assert (
        await get_or_none(await client.resource(KNATIVE_SERVICE), f"{name}-engine", namespace)
        is None
    )
