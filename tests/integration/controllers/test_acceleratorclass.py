"""AcceleratorClasses over fake GPU nodes: the AcceleratorClass controller (as the
operator's ServiceAccount under the shipped RBAC) counts each class's nodes and
accelerators, follows nodes that come and go and pods that take accelerators, and keeps
upstream's finalizer (upstream pkg/controller/v1beta1/acceleratorclass/controller.go)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import Client, NotFound
from ome.controllers import acceleratorclass
from ome.controllers.acceleratorclass.reconciler import FINALIZER
from ome.controllers.kinds import ACCELERATORCLASS, NODE, POD
from ome.runtime import Manager, ManagerOptions
from ome.testing.nodes import FakeNode
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT
from tests.integration.helpers import eventually, refused_nothing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@contextlib.asynccontextmanager
async def running(cluster: Cluster) -> AsyncIterator[Manager]:
    options = ManagerOptions(
        metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
    )
    with refused_nothing(cluster, MANAGER_ACCOUNT):
        client = await cluster.operator_client()
        manager = Manager(client, options)
        acceleratorclass.setup(manager)
        try:
            async with manager.running():
                yield manager
        finally:
            await client.close()


def accelerator_class(name: str, product: str, memory: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "AcceleratorClass",
        "metadata": {"name": name},
        "spec": {
            "vendor": "nvidia",
            "discovery": {"nodeSelector": {"nvidia.com/gpu.product": product}},
            "capabilities": {"memoryGB": memory},
            "resources": [{"name": "nvidia.com/gpu", "quantity": "1"}],
        },
    }


@pytest_asyncio.fixture(loop_scope="session")
async def made(cluster: Cluster, client: Client) -> AsyncIterator[dict[str, list[str]]]:
    """Names of the classes and nodes a test creates; deleted afterwards."""
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    created: dict[str, list[str]] = {"classes": [], "nodes": []}
    yield created
    nodes, classes = await client.resource(NODE), await client.resource(ACCELERATORCLASS)
    for name in created["nodes"]:
        with contextlib.suppress(NotFound):
            await nodes.delete(name)
    for name in created["classes"]:
        with contextlib.suppress(NotFound):
            await classes.patch(name, {"metadata": {"finalizers": None}})
            await classes.delete(name)


async def add_node(client: Client, made: dict[str, list[str]], node: FakeNode) -> None:
    await (await client.resource(NODE)).create(node.manifest())
    made["nodes"].append(node.name)


async def status_becomes(
    client: Client, name: str, expected: dict[str, Any], timeout: float = 60.0
) -> dict[str, Any]:
    classes = await client.resource(ACCELERATORCLASS)
    seen: dict[str, Any] = {}

    async def matches() -> bool:
        nonlocal seen
        seen = (await classes.get(name)).get("status") or {}
        return all(seen.get(k) == v for k, v in expected.items())

    try:
        await eventually(matches, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{name}: {seen} is not {expected}") from None
    return seen


async def test_classes_count_their_nodes_and_accelerators(
    cluster: Cluster, client: Client, namespace: str, made: dict[str, list[str]]
) -> None:
    fast, slow = f"{namespace}-h100", f"{namespace}-a100"
    h100, a100 = f"H100-{namespace}", f"A100-{namespace}"
    classes = await client.resource(ACCELERATORCLASS)
    for name, product, memory in ((fast, h100, "80Gi"), (slow, a100, "40Gi")):
        await classes.create(accelerator_class(name, product, memory))
        made["classes"].append(name)
    async with running(cluster):
        await status_becomes(client, fast, {"nodes": [], "totalAccelerators": 0})
        found = await classes.get(fast)
        assert FINALIZER in found["metadata"]["finalizers"]
        assert found["status"]["conditions"][0]["reason"] == "NoMatchingNodes"

        for i in range(2):
            await add_node(client, made, FakeNode(f"{namespace}-h-{i}", gpus=8, gpu_product=h100))
        await add_node(client, made, FakeNode(f"{namespace}-a-0", gpus=4, gpu_product=a100))
        status = await status_becomes(
            client,
            fast,
            {
                "nodes": [f"{namespace}-h-0", f"{namespace}-h-1"],
                "totalAccelerators": 16,
                "availableAccelerators": 16,
                "availableNodes": 2,
            },
        )
        assert status["conditions"][0]["reason"] == "AcceleratorsAvailable"
        await status_becomes(
            client,
            slow,
            {"nodes": [f"{namespace}-a-0"], "totalAccelerators": 4, "availableNodes": 1},
        )

        # a pod bound to a node takes its accelerators from what is available
        container = {
            "name": "c",
            "image": "example.com/server:1",
            "resources": {"limits": {"nvidia.com/gpu": "3"}},
        }
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "uses-gpus", "namespace": namespace},
            "spec": {"nodeName": f"{namespace}-h-0", "containers": [container]},
        }
        await (await client.resource(POD)).create(pod)
        await status_becomes(client, fast, {"availableAccelerators": 13, "totalAccelerators": 16})

        # nodes come and go
        await add_node(client, made, FakeNode(f"{namespace}-a-1", gpus=4, gpu_product=a100))
        await status_becomes(
            client,
            slow,
            {"nodes": [f"{namespace}-a-0", f"{namespace}-a-1"], "totalAccelerators": 8},
        )
        await (await client.resource(NODE)).delete(f"{namespace}-h-1")
        await status_becomes(
            client,
            fast,
            {"nodes": [f"{namespace}-h-0"], "totalAccelerators": 8, "availableAccelerators": 5},
        )
        await (await client.resource(POD)).delete("uses-gpus", namespace)
        await status_becomes(client, fast, {"availableAccelerators": 8})

        # deletion waits for nothing but the controller's own finalizer
        await classes.delete(slow)

        async def gone() -> bool:
            try:
                await classes.get(slow)
            except NotFound:
                return True
            return False

        await eventually(gone)
