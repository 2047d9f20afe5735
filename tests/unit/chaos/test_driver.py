"""The churn driver against an in-memory stand-in for the API server."""

from __future__ import annotations

from typing import Any

import aiohttp

from chaos.driver import Driver
from ome.client import AlreadyExists, ApiError, NotFound


class Resource:
    """InferenceServices in a dict; ``failures`` are raised by the next calls first."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.failures: list[Exception] = []
        self.made = 0

    def _fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._fail()
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if key in self.objects:
            raise AlreadyExists(409, "AlreadyExists", "exists")
        self.made += 1
        stored = {**body, "metadata": {**body["metadata"], "uid": f"uid-{self.made}"}}
        self.objects[key] = stored
        return stored

    async def get(self, name: str, namespace: str) -> dict[str, Any]:
        self._fail()
        if (namespace, name) not in self.objects:
            raise NotFound(404, "NotFound", "not found")
        return self.objects[(namespace, name)]

    async def patch(self, name: str, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        self._fail()
        stored = await self.get(name, namespace)
        stored["spec"] = body["spec"]
        return stored

    async def delete(self, name: str, namespace: str) -> None:
        self._fail()
        if self.objects.pop((namespace, name), None) is None:
            raise NotFound(404, "NotFound", "not found")


class FakeClient:
    def __init__(self) -> None:
        self.services = Resource()

    async def resource(self, _: Any) -> Resource:
        return self.services


def driver(client: FakeClient, services: int = 6) -> Driver:
    return Driver(
        client,  # type: ignore[arg-type]
        ["a", "b"],
        services=services,
        models=["m1", "m2"],
        runtimes=["r1", "r2"],
        seed=1,
    )


async def test_the_record_matches_the_server_after_any_churn() -> None:
    client = FakeClient()
    churn = driver(client)
    await churn.create_all()
    for _ in range(200):
        await churn.step()
    assert churn.writes == 206
    assert not churn.refused
    live = {f"{ns}/{name}": obj for (ns, name), obj in client.services.objects.items()}
    for key, desired in churn.desired.items():
        if desired is None:
            assert key not in live
            continue
        spec = live[key]["spec"]
        assert spec["model"]["name"] == desired.model
        assert spec["runtime"]["name"] == desired.runtime
        assert spec["engine"] == {"minReplicas": desired.replicas, "maxReplicas": desired.replicas}
        assert churn.uids[key] == live[key]["metadata"]["uid"]


async def test_writes_are_retried_through_outages_and_lost_answers() -> None:
    client = FakeClient()
    churn = driver(client, services=1)
    client.services.failures = [
        aiohttp.ClientConnectionError(),
        ApiError(503, "ServiceUnavailable", "etcd away"),
    ]
    await churn.create_all()
    assert churn.desired["a/svc-000"] is not None
    # an earlier attempt landed and its answer was lost: the create finds it and adopts it
    del churn.desired["a/svc-000"]
    await churn.create_all()
    assert churn.uids["a/svc-000"] == "uid-1"


async def test_a_refusal_for_good_is_recorded() -> None:
    client = FakeClient()
    churn = driver(client, services=1)
    client.services.failures = [ApiError(422, "Invalid", "invalid")]
    await churn.step()
    assert churn.refused == ["422 Invalid: invalid"]
