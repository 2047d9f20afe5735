"""Informers through faults, each on a control plane of its own: the API server killed
and restarted mid-churn, a watch held back past an etcd compaction (410), a watch gone
silent on a half-open connection, and RBAC that forbids the list until it is granted."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from ome.client import Client, Forbidden, load_configuration
from ome.informers import CacheSyncError, ReflectorOptions, SharedInformerFactory
from ome.testing import ControlPlane
from tests.integration.helpers import eventually
from tests.integration.informers.support import (
    QUICK,
    Churn,
    TcpProxy,
    cache_state,
    configmaps_path,
    create_namespaces,
    labelled,
    running,
    server_state,
    until,
    watch_labelled,
)

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def plane() -> AsyncIterator[ControlPlane]:
    """etcd and kube-apiserver, to kill and restart."""
    async with ControlPlane() as control_plane:
        yield control_plane


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def compacting_plane() -> AsyncIterator[ControlPlane]:
    """An API server that compacts etcd every 2 s and serves watches from etcd: with its
    watch cache on, it would serve an old version from memory long after compaction."""
    args = ["--etcd-compaction-interval=2s", "--watch-cache=false"]
    async with ControlPlane(apiserver_args=args) as control_plane:
        yield control_plane


@pytest_asyncio.fixture(loop_scope="session")
async def admin(plane: ControlPlane) -> AsyncIterator[Client]:
    async with await plane.client() as client:
        yield client


@contextlib.asynccontextmanager
async def through_proxy(
    plane: ControlPlane, tmp_path: Path
) -> AsyncIterator[tuple[Client, TcpProxy, Client]]:
    """An admin client straight to the API server, the proxy, and a client through it."""
    async with await plane.client() as client, TcpProxy(plane.ports.apiserver) as proxy:
        kubeconfig = proxy.kubeconfig(plane.kubeconfig, tmp_path / "kubeconfig")
        async with Client(await load_configuration(kubeconfig)) as informer_client:
            yield client, proxy, informer_client


async def delete_in_etcd(plane: ControlPlane, keys: list[str]) -> None:
    """Delete ConfigMaps behind the API server's back, as another API server would."""
    url = f"http://127.0.0.1:{plane.ports.etcd_client}/v3/kv/deleterange"
    async with aiohttp.ClientSession() as session:
        for key in keys:
            etcd_key = base64.b64encode(f"/registry/configmaps/{key}".encode()).decode()
            async with session.post(url, json={"key": etcd_key}) as answer:
                assert answer.status == 200, await answer.text()
                assert (await answer.json()).get("deleted") == "1", key


async def test_apiserver_restart_mid_churn_converges_with_tombstones(
    plane: ControlPlane, admin: Client
) -> None:
    namespaces = await create_namespaces(admin, 3)
    label = labelled()
    churn = Churn(admin, namespaces, label)
    await churn.run(200)
    # Objects the churn leaves alone, to be deleted while the API server is down.
    victims = [f"{namespaces[0]}/victim-{i}" for i in range(5)]
    for key in victims:
        await admin.create(configmaps_path(namespaces[0]), churn.body(key.split("/")[1]))

    async with await plane.client() as informer_client:
        factory, informer, delivered = watch_labelled(informer_client, label)
        async with running(factory):
            await factory.wait_for_cache_sync(timeout=30)
            churning = asyncio.create_task(churn.run(600))
            await until(lambda: churn.done >= 350, timeout=60)  # mid-churn
            plane.kill_component("kube-apiserver")
            await delete_in_etcd(plane, victims)
            await asyncio.sleep(1.0)  # an outage with writes piling up
            await plane.restart_component("kube-apiserver")
            await asyncio.wait_for(churning, timeout=120)

            truth = await server_state(admin, label)
            await until(lambda: cache_state(informer) == truth, timeout=60)
            await until(lambda: delivered.mismatches(truth) == [], timeout=10)
    assert churn.done == 800
    assert set(victims) <= delivered.tombstones
    assert {delivered.last[key][0] for key in victims} == {"tombstone"}
    assert {delivered.last[key][0] for key in delivered.last.keys() - truth.keys()} <= {
        "deleted",
        "tombstone",
    }


async def test_a_watch_held_back_past_compaction_relists_without_missing_a_state(
    compacting_plane: ControlPlane, tmp_path: Path
) -> None:
    async with through_proxy(compacting_plane, tmp_path) as (client, proxy, informer_client):
        namespaces = await create_namespaces(client, 3)
        label = labelled()
        churn = Churn(client, namespaces, label)
        await churn.run(100)
        factory, informer, delivered = watch_labelled(informer_client, label)
        async with running(factory):
            await factory.wait_for_cache_sync(timeout=30)
            await churn.run(100)
            truth = await server_state(client, label)
            await until(lambda: cache_state(informer) == truth, timeout=30)
            held_at = await current_version(client)

            proxy.hold()
            await churn.run(200)
            gone = sorted(truth.keys() - (await server_state(client, label)).keys())
            assert gone, "the churn deleted nothing while the watch was held"
            await until_compacted(client, held_at)
            failures_before = informer.failures
            proxy.release()

            truth = await server_state(client, label)
            await until(lambda: cache_state(informer) == truth, timeout=60)
            await until(lambda: delivered.mismatches(truth) == [], timeout=10)
            assert informer.failures > failures_before
        # Deleted while the informer could not watch: only the relist could tell.
        assert {delivered.last[key][0] for key in gone} == {"tombstone"}


async def current_version(client: Client) -> str:
    listing = await client.get("/api/v1/configmaps", query={"limit": 1})
    return str(listing["metadata"]["resourceVersion"])


async def until_compacted(client: Client, version: str) -> None:
    """Wait until etcd has compacted ``version``: a watch from it is refused with 410."""
    query: dict[str, str | int] = {"watch": "true", "resourceVersion": version, "timeoutSeconds": 1}
    for _ in range(100):
        async with client.stream("/api/v1/configmaps", query=query) as events:
            async for event in events:
                if event["type"] == "ERROR" and event["object"].get("code") == 410:
                    return
                break
        await asyncio.sleep(0.2)
    raise AssertionError(f"resourceVersion {version} was never compacted")


async def test_a_silent_half_open_watch_is_noticed_and_reopened(
    compacting_plane: ControlPlane, tmp_path: Path
) -> None:
    async with through_proxy(compacting_plane, tmp_path) as (client, proxy, informer_client):
        namespace = (await create_namespaces(client, 1))[0]
        options = ReflectorOptions(inactivity_timeout=2.0, backoff=QUICK.backoff)
        factory = SharedInformerFactory(informer_client, namespace=namespace, options=options)
        informer = factory.informer("", "v1", "configmaps")
        async with running(factory):
            await factory.wait_for_cache_sync(timeout=30)
            await client.create(configmaps_path(namespace), {"metadata": {"name": "before"}})
            await until(lambda: f"{namespace}/before" in informer.store, timeout=10)

            proxy.freeze()  # the watch stays open, and nothing comes through it
            await client.create(configmaps_path(namespace), {"metadata": {"name": "after"}})
            await until(lambda: f"{namespace}/after" in informer.store, timeout=30)


async def test_a_forbidden_list_is_reported_and_recovers_once_granted(
    compacting_plane: ControlPlane,
) -> None:
    plane = compacting_plane
    async with await plane.client() as client:
        namespace = (await create_namespaces(client, 1))[0]
        await client.create(configmaps_path(namespace), {"metadata": {"name": "visible"}})
        user = f"informer-{secrets.token_hex(3)}"
        kubeconfig = plane.user_kubeconfig(user)
        async with Client(await load_configuration(kubeconfig)) as user_client:
            factory = SharedInformerFactory(user_client, namespace=namespace, options=QUICK)
            informer = factory.informer("", "v1", "configmaps")
            async with running(factory):
                with pytest.raises(CacheSyncError, match="forbidden") as caught:
                    await factory.wait_for_cache_sync(timeout=30)
                assert isinstance(caught.value.failures[informer.name], Forbidden)
                failures = informer.failures
                await until(lambda: informer.failures >= failures + 2, timeout=10)

                await grant_configmap_reading(client, namespace, user)
                await eventually(lambda: can_list(user_client, namespace), timeout=10)
                await factory.wait_for_cache_sync(timeout=30)
                assert f"{namespace}/visible" in informer.store


async def can_list(client: Client, namespace: str) -> bool:
    """The API server's authorizer has seen the grant (it learns of RBAC by watching)."""
    try:
        await client.get(configmaps_path(namespace))
    except Forbidden:
        return False
    return True


async def grant_configmap_reading(client: Client, namespace: str, user: str) -> None:
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    await client.create(
        f"{rbac}/roles",
        {
            "metadata": {"name": "read-configmaps"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch"]}],
        },
    )
    await client.create(
        f"{rbac}/rolebindings",
        {
            "metadata": {"name": "read-configmaps"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "read-configmaps",
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
