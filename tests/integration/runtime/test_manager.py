"""The example operator in-process on a Manager: reconciling, probes, metrics, and
outside writers whose fields survive the controller's server-side applies."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from ome.client import GVK, Client
from ome.runtime import LeaderElectionConfig, LeaderElectionLost, Manager, ManagerOptions
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import StallableClient, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples"))
import widget_operator  # noqa: E402

WIDGET = widget_operator.WIDGET
CONFIGMAP = GVK("", "v1", "ConfigMap")
CONTROLLER_RUNTIME_METRICS = (
    "controller_runtime_reconcile_total",
    "controller_runtime_reconcile_errors_total",
    "controller_runtime_reconcile_time_seconds",
    "controller_runtime_active_workers",
    "controller_runtime_max_concurrent_reconciles",
    "workqueue_depth",
    "workqueue_adds_total",
    "workqueue_queue_duration_seconds",
    "workqueue_work_duration_seconds",
    "workqueue_unfinished_work_seconds",
    "workqueue_longest_running_processor_seconds",
    "workqueue_retries_total",
)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def widget_crd(cluster: Cluster) -> None:
    await cluster.install_crds([ROOT / "examples" / "widget-crd.yaml"])


class Running:
    def __init__(self, manager: Manager, task: asyncio.Task[None]) -> None:
        self.manager = manager
        self.task = task

    async def fetch(self, path: str) -> tuple[int, str]:
        server = self.manager.metrics_server if path == "/metrics" else self.manager.probe_server
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}{path}") as response,
        ):
            return response.status, await response.text()


@pytest_asyncio.fixture(loop_scope="session")
async def running(cluster: Cluster, namespace: str, widget_crd: None) -> AsyncIterator[Running]:
    options = ManagerOptions(
        namespace=namespace,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        handle_signals=False,
    )
    manager = Manager(await cluster.client(), options)
    await widget_operator.build(manager, workers=4)
    task = asyncio.create_task(manager.run())
    started = Running(manager, task)
    await eventually(lambda: _ready(started), timeout=30)
    yield started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _ready(running: Running) -> bool:
    if running.task.done():
        running.task.result()
    return running.manager.probe_server.port != 0 and (await running.fetch("/readyz"))[0] == 200


async def widget_ready(client: Client, namespace: str, name: str) -> bool:
    widget = await (await client.resource(WIDGET)).get(name, namespace)
    generation = widget["metadata"]["generation"]
    return any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == generation
        for c in widget.get("status", {}).get("conditions") or []
    )


async def test_reconciles_probes_and_metrics(
    running: Running, client: Client, namespace: str
) -> None:
    widgets = await client.resource(WIDGET)
    for i in range(20):
        await widgets.create({"metadata": {"name": f"w{i}", "namespace": namespace}})
    for i in range(20):
        await eventually(lambda i=i: widget_ready(client, namespace, f"w{i}"), timeout=30)
    configmaps = await client.resource(CONFIGMAP)
    made = await configmaps.get("w7-widget", namespace)
    assert made["metadata"]["ownerReferences"][0]["name"] == "w7"

    assert await running.fetch("/healthz") == (200, "ok")
    status, text = await running.fetch("/readyz?verbose")
    assert status == 200
    assert "[+]informers-synced ok" in text
    status, metrics = await running.fetch("/metrics")
    assert status == 200
    for name in CONTROLLER_RUNTIME_METRICS:
        assert f"# TYPE {name} " in metrics or f"# HELP {name} " in metrics, name
    assert 'controller_runtime_reconcile_total{controller="widget",result="success"}' in metrics


async def test_outside_writers_keep_their_fields(
    running: Running, client: Client, namespace: str
) -> None:
    widgets = await client.resource(WIDGET)
    configmaps = await client.resource(CONFIGMAP)
    names = [f"shared{i}" for i in range(5)]
    for name in names:
        await widgets.create({"metadata": {"name": name, "namespace": namespace}})

    async def writer(index: int) -> None:
        """Owns one label on every Widget and its ConfigMap, and the spec size of one."""
        manager = f"writer-{index}"
        for round_ in range(10):
            for name in names:
                labels = {f"writer-{index}": str(round_)}
                body: dict[str, Any] = {
                    "metadata": {"name": name, "namespace": namespace, "labels": labels}
                }
                if name == names[index]:
                    body["spec"] = {"size": round_}
                await widgets.apply(body, field_manager=manager)
                await configmaps.apply(
                    {
                        "metadata": {
                            "name": f"{name}-widget",
                            "namespace": namespace,
                            "labels": labels,
                        }
                    },
                    field_manager=manager,
                )

    for name in names:  # the ConfigMaps exist before the writers touch them
        await eventually(lambda name=name: widget_ready(client, namespace, name), timeout=30)
    await asyncio.gather(*(writer(i) for i in range(5)))

    async def converged() -> bool:
        for index, name in enumerate(names):
            widget = await widgets.get(name, namespace)
            configmap = await configmaps.get(f"{name}-widget", namespace)
            expected = {f"writer-{i}": "9" for i in range(5)}
            if widget["metadata"].get("labels") != expected:
                return False
            if (configmap["metadata"].get("labels") or {}) != expected:
                return False
            if configmap["data"] != {"size": "9"} or widget["spec"]["size"] != 9:
                return False
            if not await widget_ready(client, namespace, name):
                return False
            assert index == names.index(name)
        return True

    await eventually(converged, timeout=60)


async def test_not_ready_before_the_caches_sync(cluster: Cluster, widget_crd: None) -> None:
    options = ManagerOptions(probe_address="127.0.0.1:0", metrics_address="0")
    manager = Manager(await cluster.client(), options)
    await widget_operator.build(manager)
    await manager.probe_server.start()  # as run() does first, before the caches start
    try:
        status, text = await Running(manager, asyncio.create_task(asyncio.sleep(0))).fetch(
            "/readyz"
        )
        assert status == 500
        assert "[-]informers-synced failed: caches not synced yet" in text
    finally:
        await manager.probe_server.stop()
        await manager.client.close()


async def test_healthz_fails_when_lease_renewals_stall(
    cluster: Cluster, namespace: str, widget_crd: None
) -> None:
    lease_client = StallableClient((await cluster.client()).configuration)
    election = LeaderElectionConfig(
        name="stall", namespace=namespace, identity="stalling",
        lease_duration=3.0, renew_deadline=2.0, retry_period=0.5,
    )  # fmt: skip
    options = ManagerOptions(
        namespace=namespace, leader_election=election, probe_address="127.0.0.1:0",
        metrics_address="127.0.0.1:0", handle_signals=False,
    )  # fmt: skip
    manager = Manager(lease_client, options)
    await widget_operator.build(manager)
    running = Running(manager, asyncio.create_task(manager.run()))
    try:
        await eventually(lambda: _ready(running), timeout=30)
        await eventually(
            lambda: _true(manager.elector is not None and manager.elector.is_leading())
        )
        _, metrics = await running.fetch("/metrics")
        assert 'leader_election_master_status{name="stall"} 1.0' in metrics
        assert (await running.fetch("/healthz"))[0] == 200
        lease_client.stalled = True

        # Unhealthy once the last renewal is older than the renew deadline: the moment the
        # elector gives up and the manager stops, so /healthz either says 500 or is gone.
        async def unhealthy() -> bool:
            if running.task.done():
                return True
            try:
                return (await running.fetch("/healthz"))[0] == 500
            except aiohttp.ClientError:  # stopped between the two lines
                return True

        await eventually(unhealthy, timeout=10)
        with pytest.raises(LeaderElectionLost):
            await asyncio.wait_for(running.task, timeout=10)
        assert not manager.elector.is_leading()
    finally:
        running.task.cancel()
        await asyncio.gather(running.task, return_exceptions=True)
        lease_client.stalled = False
        await lease_client.close()


async def _true(value: bool) -> bool:
    return value
