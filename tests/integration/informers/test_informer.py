"""Informers against the real API server: the cache follows random churn exactly, slow
handlers are isolated, indexes, late handlers and metadata-only work, and bad input
surfaces as a clear error while the informer keeps retrying."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import Client
from ome.informers import (
    CacheSyncError,
    ReflectorOptions,
    SharedInformerFactory,
)
from ome.testing.pytest_plugin import Cluster
from tests.integration.informers.support import (
    QUICK,
    Churn,
    cache_state,
    configmaps_path,
    create_namespaces,
    delete_namespaces,
    labelled,
    running,
    server_state,
    until,
    watch_labelled,
)

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def informer_client(cluster: Cluster) -> AsyncIterator[Client]:
    """A client of the informers' own, as a manager would have."""
    async with await cluster.client() as api:
        yield api


@pytest.mark.parametrize("watch_list", [True, False], ids=["watch-list", "list-then-watch"])
async def test_cache_equals_the_server_after_1000_random_changes(
    client: Client, informer_client: Client, watch_list: bool
) -> None:
    namespaces = await create_namespaces(client, 3)
    label = labelled()
    churn = Churn(client, namespaces, label)
    options = ReflectorOptions(watch_list=watch_list)
    factory, informer, delivered = watch_labelled(informer_client, label, options)
    try:
        await churn.run(300)  # some state for the initial sync
        async with running(factory):
            await factory.wait_for_cache_sync(timeout=30)
            await churn.run(700)
            truth = await server_state(client, label)

            await until(lambda: cache_state(informer) == truth, timeout=30)
            await until(lambda: delivered.mismatches(truth) == [], timeout=10)
            gone = delivered.last.keys() - truth.keys()
            assert gone, "the churn deleted nothing"
            assert {delivered.last[key][0] for key in gone} == {"deleted"}
            assert churn.done == 1000
    finally:
        await delete_namespaces(client, namespaces)


async def test_a_handler_sleeping_1s_per_event_does_not_delay_another(
    client: Client, informer_client: Client, namespace: str
) -> None:
    factory = SharedInformerFactory(informer_client, namespace=namespace)
    informer = factory.informer("", "v1", "configmaps")
    created: dict[str, float] = {}
    fast: dict[str, float] = {}
    slow: dict[str, float] = {}

    async def sleepy(obj: dict[str, Any]) -> None:
        slow[obj["metadata"]["name"]] = time.perf_counter()
        await asyncio.sleep(1.0)

    def quick(obj: dict[str, Any]) -> None:
        fast[obj["metadata"]["name"]] = time.perf_counter()

    informer.add_event_handler(on_add=sleepy)
    informer.add_event_handler(on_add=quick)
    async with running(factory):
        await factory.wait_for_cache_sync(timeout=30)
        for i in range(5):
            name = f"event-{i}"
            created[name] = time.perf_counter()
            await client.create(configmaps_path(namespace), {"metadata": {"name": name}})
        await until(lambda: created.keys() <= fast.keys(), timeout=10)
        await until(lambda: created.keys() <= slow.keys(), timeout=15)
    fast_ms = [round((fast[n] - created[n]) * 1000, 1) for n in created]
    slow_ms = [round((slow[n] - created[n]) * 1000, 1) for n in created]
    print(f"create-to-handler ms: quick handler {fast_ms}; sleeping handler {slow_ms}")
    # The sleeping handler reaches its fifth event after four 1 s sleeps; the quick one
    # has had all five before the sleeping one is past its first.
    assert slow_ms[-1] > 3000
    assert max(fast_ms) < slow_ms[1]


async def test_indexes_and_a_late_handler_see_the_cache(
    client: Client, informer_client: Client, namespace: str
) -> None:
    for i, app in enumerate(["web", "web", "db"]):
        body = {"metadata": {"name": f"cm-{i}", "labels": {"app": app}}}
        await client.create(configmaps_path(namespace), body)
    factory = SharedInformerFactory(informer_client, namespace=namespace)
    informer = factory.informer("", "v1", "ConfigMap")
    informer.add_indexers({"app": lambda o: [(o["metadata"].get("labels") or {}).get("app", "")]})
    async with running(factory):
        await factory.wait_for_cache_sync(timeout=30)
        web = informer.indexer.by_index("app", "web")
        assert sorted(o["metadata"]["name"] for o in web) == ["cm-0", "cm-1"]
        assert informer.store.get(f"{namespace}/cm-2") is not None
        assert all("managedFields" not in o["metadata"] for o in informer.store.list())

        late: list[str] = []
        registration = informer.add_event_handler(
            on_add=lambda o: late.append(o["metadata"]["name"])
        )
        await until(lambda: registration.has_synced, timeout=10)
        assert sorted(late) == sorted(o["metadata"]["name"] for o in informer.store.list())

        await client.request(
            "PATCH",
            configmaps_path(namespace, "cm-0"),
            body={"metadata": {"labels": {"app": "db"}}},
            content_type="application/merge-patch+json",
        )
        await until(lambda: len(informer.indexer.index_keys("app", "db")) == 2, timeout=10)
        registration.remove()


async def test_metadata_only_caches_partial_objects(
    client: Client, informer_client: Client, namespace: str
) -> None:
    body = {"metadata": {"name": "big", "labels": {"a": "b"}}, "data": {"blob": "x" * 10_000}}
    await client.create(configmaps_path(namespace), body)
    factory = SharedInformerFactory(informer_client, namespace=namespace)
    informer = factory.informer("", "v1", "configmaps", metadata_only=True)
    async with running(factory):
        await factory.wait_for_cache_sync(timeout=30)
        cached = informer.store.get(f"{namespace}/big")
        assert cached is not None
        assert set(cached) == {"apiVersion", "kind", "metadata"}
        assert (cached["apiVersion"], cached["kind"]) == ("v1", "ConfigMap")
        assert cached["metadata"]["labels"] == {"a": "b"}
        await client.create(configmaps_path(namespace), {"metadata": {"name": "small"}})
        await until(lambda: informer.store.get(f"{namespace}/small") is not None, timeout=10)


async def test_a_missing_resource_is_reported_and_found_once_its_crd_exists(
    cluster: Cluster, client: Client, informer_client: Client, tmp_path: Path
) -> None:
    group = f"t{secrets.token_hex(3)}.ome.io"
    factory = SharedInformerFactory(informer_client, options=QUICK)
    informer = factory.informer(group, "v1", "Gizmo")
    async with running(factory):
        with pytest.raises(CacheSyncError, match=r"does not serve 'Gizmo'.*CRD installed"):
            await factory.wait_for_cache_sync(timeout=30)
        crd = tmp_path / "gizmo.json"
        crd.write_text(json.dumps(_crd(group)))
        await cluster.install_crds([crd])
        try:
            await factory.wait_for_cache_sync(timeout=30)
            assert informer.resource is not None
            assert informer.resource.plural == "gizmos"
            assert factory.informer(group, "v1", "gizmos") is informer
        finally:
            await client.delete(
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.{group}"
            )


async def test_a_selector_the_server_rejects_is_reported_and_retried(
    informer_client: Client,
) -> None:
    factory = SharedInformerFactory(informer_client, options=QUICK)
    informer = factory.informer("", "v1", "configmaps", label_selector="app=(web")
    async with running(factory):
        with pytest.raises(CacheSyncError, match="unable to parse requirement") as caught:
            await factory.wait_for_cache_sync(timeout=30)
        error = caught.value.failures[informer.name]
        assert getattr(error, "status", None) == 400
        failures = informer.failures
        await until(lambda: informer.failures >= failures + 2, timeout=10)
        assert not informer.has_synced


def _crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gizmos.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }
