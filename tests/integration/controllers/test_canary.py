"""Revisions and canary rollouts end to end, with the Gateway API's CRDs: a service at
revision 1 updated with ``canaryTrafficPercent: 20`` runs both revisions with the routes
weighted 80/20 and ``status.components.engine.traffic`` saying so; setting the old spec
again (rollback) returns all traffic to revision 1 at once; a second canary promoted
(percent removed) leaves one revision with 100 %. Throughout, a watch on the engine's
Deployments checks that the ready replicas never drop below ``minReplicas``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from ome.client import Client
from ome.controllers.kinds import DEPLOYMENT, HTTPROUTE, INFERENCESERVICE
from ome.runtime import Manager
from tests.integration.controllers import test_inferenceservice as shared
from tests.integration.controllers.test_gateway import enable_gateway_api
from tests.integration.controllers.test_inferenceservice import get_or_none, service_in
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
catalogue = shared.catalogue
manager = shared.manager

MIN_REPLICAS = 1


class ReadyReplicas:
    """The engine Deployments' ready replicas, from a watch: the sum after every event,
    once the first revision has been ready."""

    def __init__(self) -> None:
        self.by_name: dict[str, int] = {}
        self.lowest: int | None = None
        self.events = 0

    def seen(self, obj: dict[str, Any], deleted: bool) -> None:
        name = obj["metadata"]["name"]
        if deleted:
            self.by_name.pop(name, None)
        else:
            self.by_name[name] = (obj.get("status") or {}).get("readyReplicas") or 0
        self.events += 1
        total = sum(self.by_name.values())
        if self.lowest is not None or total >= MIN_REPLICAS:
            self.lowest = total if self.lowest is None else min(self.lowest, total)


async def watch_engines(client: Client, namespace: str, name: str, into: ReadyReplicas) -> None:
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    selector = f"ome.io/inferenceservice={name},component=engine"
    query = {"watch": "true", "labelSelector": selector, "allowWatchBookmarks": "false"}
    async with client.stream(path, query=query) as events:
        async for event in events:
            if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                into.seen(event["object"], event["type"] == "DELETED")


def engine(version: str, **fields: Any) -> dict[str, Any]:
    """The engine of the sample, serving ``version`` (an env of its runner)."""
    runner = {"env": [{"name": "SERVED_VERSION", "value": version}]}
    return {"minReplicas": MIN_REPLICAS, "maxReplicas": MIN_REPLICAS, "runner": runner, **fields}


async def test_canary_rollback_and_promotion_keep_the_ready_replicas(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    await enable_gateway_api(client, namespace)
    services = await client.resource(INFERENCESERVICE)
    deployments = await client.resource(DEPLOYMENT)
    routes = await client.resource(HTTPROUTE)
    service = service_in(catalogue["sample"], namespace, engine=engine("v1"))
    del service["spec"]["router"]  # the service's own route then leads to the engine
    name = service["metadata"]["name"]
    stable, canary = f"{name}-engine", f"{name}-engine-canary"

    async def engine_status() -> dict[str, Any]:
        current = await services.get(name, namespace)
        found: dict[str, Any] = current.get("status", {}).get("components", {}).get("engine", {})
        return found

    async def settled(deployment: str) -> bool:
        """The Deployment has rolled its latest template and all of it is ready."""
        found = await get_or_none(deployments, deployment, namespace)
        if found is None:
            return False
        status, wanted = found.get("status") or {}, found["spec"].get("replicas", 1)
        return (
            status.get("observedGeneration") == found["metadata"]["generation"]
            and status.get("updatedReplicas") == wanted
            and status.get("readyReplicas") == wanted
            and status.get("replicas") == wanted
        )

    async def weights() -> dict[str, list[tuple[str, int]]]:
        found = {}
        for route in await routes.list(namespace):
            (rule,) = route["spec"]["rules"]
            found[route["metadata"]["name"]] = [
                (b["name"], b["weight"]) for b in rule["backendRefs"]
            ]
        return found

    await services.create(service)
    await eventually(lambda: settled(stable), timeout=60)

    async def rolled_out() -> bool:
        return bool((await engine_status()).get("latestRolledoutRevision"))

    await eventually(rolled_out, timeout=30)
    first = (await engine_status())["latestRolledoutRevision"]

    ready = ReadyReplicas()
    watcher = asyncio.create_task(watch_engines(client, namespace, name, ready))
    try:
        await eventually(lambda: _true(ready.lowest is not None), timeout=30)

        # revision 2 as a canary at 20 %
        await services.patch(
            name, {"spec": {"engine": engine("v2", canaryTrafficPercent=20)}}, namespace
        )

        async def split() -> bool:
            status = await engine_status()
            traffic = status.get("traffic") or []
            return len(traffic) == 2 and await settled(canary)

        await eventually(split, timeout=60)
        status = await engine_status()
        second = status["latestCreatedRevision"]
        assert second != first
        assert status["traffic"] == [
            {"revisionName": second, "latestRevision": True, "percent": 20},
            {"revisionName": first, "latestRevision": False, "percent": 80, "tag": "prev"},
        ]
        assert status["latestRolledoutRevision"] == first
        expected = [(stable, 80), (canary, 20)]
        assert await weights() == {stable: expected, name: expected}
        held = await deployments.get(stable, namespace)
        assert held["metadata"]["annotations"]["serving.ome.io/revision"] == first
        await eventually(lambda: _ready_revision(engine_status, second), timeout=30)

        # rollback: the old spec again takes all traffic back at once, the canary goes
        generation = held["metadata"]["generation"]
        await services.patch(
            name, {"spec": {"engine": engine("v1", canaryTrafficPercent=20)}}, namespace
        )

        async def rolled_back() -> bool:
            traffic = (await engine_status()).get("traffic")
            gone = await get_or_none(deployments, canary, namespace) is None
            return gone and traffic == [
                {"revisionName": first, "latestRevision": True, "percent": 100}
            ]

        await eventually(rolled_back, timeout=60)
        assert (await deployments.get(stable, namespace))["metadata"]["generation"] == generation
        assert await weights() == {stable: [(stable, 1)], name: [(stable, 1)]}

        # a canary again, then promoted: one revision, all traffic
        await services.patch(
            name, {"spec": {"engine": engine("v2", canaryTrafficPercent=20)}}, namespace
        )
        await eventually(split, timeout=60)
        await services.patch(name, {"spec": {"engine": {"canaryTrafficPercent": None}}}, namespace)

        async def promoted() -> bool:
            status = await engine_status()
            gone = await get_or_none(deployments, canary, namespace) is None
            return (
                gone
                and await settled(stable)
                and status.get("latestRolledoutRevision") == second
                and status.get("traffic")
                == [{"revisionName": second, "latestRevision": True, "percent": 100}]
            )

        await eventually(promoted, timeout=60)
        status = await engine_status()
        assert status["previousRolledoutRevision"] == first
        assert status["latestReadyRevision"] == second
        promoted_deployment = await deployments.get(stable, namespace)
        assert promoted_deployment["metadata"]["annotations"]["serving.ome.io/revision"] == second
        assert await weights() == {stable: [(stable, 1)], name: [(stable, 1)]}
        engines = await deployments.list(
            namespace, label_selector=f"ome.io/inferenceservice={name},component=engine"
        )
        assert [d["metadata"]["name"] for d in engines] == [stable]
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert ready.events > 0
    assert ready.lowest is not None
    assert ready.lowest >= MIN_REPLICAS, ready.lowest


async def _true(value: bool) -> bool:
    return value


async def _ready_revision(engine_status: Any, revision: str) -> bool:
    return bool((await engine_status()).get("latestReadyRevision") == revision)
