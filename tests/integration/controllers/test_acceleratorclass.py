"""AcceleratorClasses over fake GPU nodes: the AcceleratorClass controller (as the
operator's ServiceAccount under the shipped RBAC) counts each class's nodes and
accelerators, follows nodes that come and go and pods that take accelerators, and keeps
upstream's finalizer (upstream pkg/controller/v1beta1/acceleratorclass/controller.go).
With the InferenceService controller, a service with a selection policy lands on the
class the policy picks, with that class's tensor parallelism in its arguments, and says
which class and why; one whose constraints no class meets is refused by reason
(upstream pkg/acceleratorclassselector)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import Client, NotFound
from ome.controllers import acceleratorclass, inferenceservice
from ome.controllers.acceleratorclass.reconciler import FINALIZER
from ome.controllers.kinds import (
    ACCELERATORCLASS,
    CLUSTERBASEMODEL,
    CLUSTERSERVINGRUNTIME,
    INFERENCESERVICE,
    NODE,
    POD,
)
from ome.runtime import Manager
from ome.serving.naming import model_ready_label
from ome.testing.nodes import FakeNode
from ome.testing.pytest_plugin import Cluster
from tests.integration.controllers.support import running_manager
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def running(
    cluster: Cluster, namespace: str | None = None
) -> contextlib.AbstractAsyncContextManager[Manager]:
    """The AcceleratorClass controller; with a ``namespace``, the InferenceService
    controller for it too (both watching every namespace)."""
    services = [] if namespace is None else [lambda m: inferenceservice.setup(m, workers=2)]
    return running_manager(cluster, None, acceleratorclass.setup, *services)


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
    created: dict[str, list[str]] = {"classes": [], "nodes": [], "models": [], "runtimes": []}
    yield created
    for kind, names in ((CLUSTERSERVINGRUNTIME, "runtimes"), (CLUSTERBASEMODEL, "models")):
        resource = await client.resource(kind)
        for name in created[names]:
            with contextlib.suppress(NotFound):
                await resource.patch(name, {"metadata": {"finalizers": None}})
                await resource.delete(name)
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


def model(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": name},
        "spec": {
            "modelFormat": {"name": "safetensors", "version": "1.0.0"},
            "modelFramework": {"name": "transformers", "version": "4.42.3"},
            "modelArchitecture": "LlamaForCausalLM",
            "modelParameterSize": "70B",
            "storage": {"storageUri": "hf://meta/llama", "path": f"/raid/models/{name}"},
        },
    }


def runtime(name: str, classes: list[str]) -> dict[str, Any]:
    """A runtime for the model on both classes: 4-way tensor parallel on the H100s,
    8-way on the A100s (whose 40GiB need all 8 for 70B at 2GiB per billion)."""
    runner = {
        "name": "ome-container",
        "image": "example.com/sglang:1",
        "args": ["--model-path", "$(MODEL_PATH)", "--tp-size", "1"],
        "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"nvidia.com/gpu": 1}},
    }
    fast, slow = classes
    entry = {
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelFramework": {"name": "transformers", "version": "4.42.3"},
        "modelArchitecture": "LlamaForCausalLM",
        "autoSelect": True,
        "acceleratorConfig": {
            fast: {
                "minMemoryPerBillionParams": 2,
                "tensorParallelismOverride": {"tensorParallelSize": 4},
                "environmentOverride": {"NCCL_ALGO": "ring"},
            },
            slow: {
                "minMemoryPerBillionParams": 2,
                "tensorParallelismOverride": {"tensorParallelSize": 8},
            },
        },
    }
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": name},
        "spec": {
            "supportedModelFormats": [entry],
            "modelSizeRange": {"min": "1B", "max": "100B"},
            "acceleratorRequirements": {"acceleratorClasses": [slow, fast]},
            "engineConfig": {"runner": runner},
        },
    }


def service(name: str, namespace: str, model_name: str, selector: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"name": model_name},
            "engine": {"minReplicas": 1, "maxReplicas": 1},
            "acceleratorSelector": selector,
        },
    }


async def test_a_service_lands_on_the_class_its_policy_picks(
    cluster: Cluster, client: Client, namespace: str, made: dict[str, list[str]]
) -> None:
    fast, slow = f"{namespace}-h100", f"{namespace}-a100"
    h100, a100 = f"H100-{namespace}", f"A100-{namespace}"
    classes = await client.resource(ACCELERATORCLASS)
    for name, product, memory, bandwidth in (
        (fast, h100, "80Gi", "3350"),
        (slow, a100, "40Gi", "1555"),
    ):
        body = accelerator_class(name, product, memory)
        body["spec"]["capabilities"]["memoryBandwidthGBps"] = bandwidth
        body["spec"]["resources"] = [{"name": "nvidia.com/gpu", "quantity": "4"}]
        await classes.create(body)
        made["classes"].append(name)
    model_name, runtime_name = f"{namespace}-llama", f"{namespace}-srt"
    await (await client.resource(CLUSTERBASEMODEL)).create(model(model_name))
    made["models"].append(model_name)
    await (await client.resource(CLUSTERSERVINGRUNTIME)).create(runtime(runtime_name, [fast, slow]))
    made["runtimes"].append(runtime_name)
    ready_label = {model_ready_label(model_name, None): "Ready"}
    for i, product in enumerate((h100, a100)):
        node = FakeNode(f"{namespace}-n-{i}", gpus=8, gpu_product=product, labels=ready_label)
        await add_node(client, made, node)

    services = await client.resource(INFERENCESERVICE)
    async with running(cluster, namespace):
        await services.create(service("capable", namespace, model_name, {"policy": "MostCapable"}))
        await services.create(
            service(
                "huge",
                namespace,
                model_name,
                {"policy": "BestFit", "constraints": {"minMemory": 200}},
            )
        )
        current: dict[str, Any] = {}

        async def ready() -> bool:
            nonlocal current
            current = await services.get("capable", namespace)
            conditions = (current.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        try:
            await eventually(ready, timeout=120)
        except AssertionError:
            raise AssertionError(f"not Ready: {current.get('status')}") from None
        selected = current["status"]["components"]["engine"]["selectedAccelerator"]
        assert selected["acceleratorClass"] == fast
        assert selected["reason"].startswith("policy MostCapable (spec.acceleratorSelector.policy)")
        assert selected["nodeSelector"] == {"nvidia.com/gpu.product": h100}
        assert selected["resourceRequests"] == {"nvidia.com/gpu": "4"}

        (pod,) = await (await client.resource(POD)).list(
            namespace, label_selector="ome.io/inferenceservice=capable"
        )
        (container,) = pod["spec"]["containers"]
        assert container["args"] == ["--model-path", "$(MODEL_PATH)", "--tp-size", "4"]
        assert {"name": "NCCL_ALGO", "value": "ring"} in container["env"]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"
        assert pod["spec"]["nodeName"] == f"{namespace}-n-0"
        await status_becomes(client, fast, {"availableAccelerators": 4, "totalAccelerators": 8})

        async def refused() -> bool:
            found = await services.get("huge", namespace)
            conditions = (found.get("status") or {}).get("conditions") or []
            return any(
                c["type"] == "Ready" and c.get("reason") == "NoAcceleratorClassFits"
                for c in conditions
            )

        await eventually(refused)
        huge = await services.get("huge", namespace)
        (condition,) = [c for c in huge["status"]["conditions"] if c["type"] == "Ready"]
        assert f"{fast}: memory 80GiB < constraints.minMemory 200GiB" in condition["message"]
        assert f"{slow}: memory 40GiB < constraints.minMemory 200GiB" in condition["message"]
        for name in ("capable", "huge"):
            await services.delete(name, namespace)

        async def deleted() -> bool:  # the controller removes its finalizer
            return not await services.list(namespace)

        await eventually(deleted)
