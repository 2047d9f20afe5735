"""Multi-node and prefill/decode serving end to end: upstream's deepseek-r1 (a multi-node
engine), deepseek-v3-pd and kimi-k2-pd (prefill and decode each on multi-node runtimes)
samples, unchanged but for their namespace, against upstream's catalogue with the model
metadata the agent would back-fill, on the control plane with the LeaderWorkerSet
controller, the scheduler and fake 8-GPU nodes made for the test.

A service short of nodes says so and becomes Ready by itself once nodes are added;
scaling adds exactly one group; a runtime's new image rolls the groups of its services
only; deleting a service leaves nothing behind."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.client import Client, NotFound
from ome.controllers.kinds import (
    CLUSTERSERVINGRUNTIME,
    INFERENCESERVICE,
    LEADERWORKERSET,
    NODE,
    POD,
    SERVICE,
)
from ome.runtime import Manager
from ome.serving.naming import model_ready_label
from ome.testing.nodes import FakeNode
from ome.testing.pytest_plugin import Cluster
from tests.compat.backfill import backfilled_catalogue
from tests.compat.reference import CONFIG
from tests.integration.controllers.support import running_controller
from tests.integration.controllers.test_inferenceservice import _conditions, get_or_none
from tests.integration.helpers import applied, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = CONFIG / "samples" / "isvc"
MODELS = ("deepseek-r1", "deepseek-v3", "kimi-k2-instruct", "llama-3-3-70b-instruct")
GROUP_INDEX = "leaderworkerset.sigs.k8s.io/group-index"
WORKER_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"
NODE_PREFIX = "mn-node"
PODS = {"deepseek-r1": 2, "deepseek-v3": 4, "kimi-k2-instruct": 16}
"""Pods (of 8 GPUs each) of each service at one group per component."""


def _sample(path: str, namespace: str) -> dict[str, Any]:
    (service,) = [
        d
        for d in yaml.safe_load_all((SAMPLES / path).read_text())
        if d and d["kind"] == "InferenceService"
    ]
    service["metadata"]["namespace"] = namespace
    return service


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def catalogue(lws_cluster: Cluster) -> AsyncIterator[list[dict[str, Any]]]:
    """The models of the samples (back-filled) and every runtime they may select."""
    objects = [
        o
        for o in backfilled_catalogue()
        if o["kind"] == "ClusterServingRuntime"
        or (o["kind"] == "ClusterBaseModel" and o["metadata"]["name"] in MODELS)
    ]
    await lws_cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    async with applied(lws_cluster, objects):
        yield objects


@pytest_asyncio.fixture(loop_scope="session")
async def nodes(client: Client) -> AsyncIterator[list[str]]:
    """The names of the fake 8-GPU nodes the test adds (with :func:`add_nodes`); they hold
    every sample's model. Removed afterwards."""
    added: list[str] = []
    yield added
    resource = await client.resource(NODE)
    for name in added:
        with contextlib.suppress(NotFound):
            await resource.delete(name)


async def add_nodes(client: Client, added: list[str], count: int) -> None:
    labels = {model_ready_label(model, None): "Ready" for model in MODELS}
    resource = await client.resource(NODE)
    for _ in range(count):
        node = FakeNode(f"{NODE_PREFIX}-{len(added)}", gpus=8, labels=labels)
        await resource.create(node.manifest())
        added.append(node.name)


@pytest_asyncio.fixture(loop_scope="session")
async def manager(lws_cluster: Cluster, namespace: str, catalogue: Any) -> AsyncIterator[Manager]:
    async with running_controller(lws_cluster, namespace, workers=4) as running:
        yield running


async def ready(client: Client, name: str, namespace: str) -> dict[str, Any]:
    services = await client.resource(INFERENCESERVICE)

    async def is_ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    try:
        await eventually(is_ready, timeout=120)
    except AssertionError:
        current = await services.get(name, namespace)
        raise AssertionError(f"{name} not Ready: {_conditions(current)}") from None
    found: dict[str, Any] = await services.get(name, namespace)
    return found


async def pods_of(client: Client, name: str, namespace: str) -> list[dict[str, Any]]:
    selector = f"ome.io/inferenceservice={name}"
    found: list[dict[str, Any]] = await (await client.resource(POD)).list(
        namespace, label_selector=selector
    )
    return found


async def test_multi_node_and_prefill_decode_samples(
    client: Client, namespace: str, manager: Manager, nodes: list[str]
) -> None:
    services = await client.resource(INFERENCESERVICE)
    groups = await client.resource(LEADERWORKERSET)

    # deepseek-r1 needs a group of 2 nodes: with one, the service names the shortage
    await add_nodes(client, nodes, 1)
    await services.create(_sample("deepseek-ai/deepseek-r1.yaml", namespace))

    async def short() -> bool:
        engine = _conditions(await services.get("deepseek-r1", namespace)).get("EngineReady", {})
        return engine.get("reason") == "Unschedulable" and "nvidia.com/gpu" in engine.get(
            "message", ""
        )

    try:
        await eventually(short, timeout=90)
    except AssertionError:
        current = await services.get("deepseek-r1", namespace)
        pods = [
            (p["metadata"]["name"], p["status"])
            for p in await pods_of(client, "deepseek-r1", namespace)
        ]
        raise AssertionError(f"no shortage reported: {current.get('status')} {pods}") from None
    ready_condition = _conditions(await services.get("deepseek-r1", namespace))["Ready"]
    assert ready_condition["status"] == "False"
    assert "Insufficient nvidia.com/gpu" in ready_condition["message"]

    await add_nodes(client, nodes, 1)
    r1 = await ready(client, "deepseek-r1", namespace)
    assert r1["status"]["url"].startswith(f"http://deepseek-r1.{namespace}.svc")
    lws = await groups.get("lws-deepseek-r1-engine", namespace)
    assert lws["spec"]["replicas"] == 1
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == 2
    first = await pods_of(client, "deepseek-r1", namespace)
    assert len(first) == 2
    assert {p["spec"]["nodeName"] for p in first} <= set(nodes)
    assert all(p["status"]["phase"] == "Running" for p in first)

    # one group more: exactly one more leader and worker, the first group untouched
    await add_nodes(client, nodes, 2)
    await services.patch("deepseek-r1", {"spec": {"engine": {"minReplicas": 2}}}, namespace)

    async def two_groups() -> bool:
        pods = await pods_of(client, "deepseek-r1", namespace)
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return len(running) == 4

    await eventually(two_groups, timeout=120)
    await ready(client, "deepseek-r1", namespace)
    scaled = await pods_of(client, "deepseek-r1", namespace)
    assert Counter(p["metadata"]["labels"][GROUP_INDEX] for p in scaled) == {"0": 2, "1": 2}
    assert {p["metadata"]["uid"] for p in first} <= {p["metadata"]["uid"] for p in scaled}

    # prefill/decode: each side a LeaderWorkerSet of its runtime's group size, a router
    await add_nodes(client, nodes, PODS["deepseek-v3"] + PODS["kimi-k2-instruct"])
    for sample in ("deepseek-ai/deepseek-v3-pd.yaml", "moonshotai/kimi-k2-pd.yaml"):
        await services.create(_sample(sample, namespace))
    for name, sizes in (("deepseek-v3", (2, 2)), ("kimi-k2-instruct", (4, 12))):
        current = await ready(client, name, namespace)
        assert current["status"]["url"].startswith(f"http://{name}.{namespace}.svc")
        for component, size in zip(("engine", "decoder"), sizes, strict=True):
            group = await groups.get(f"lws-{name}-{component}", namespace)
            assert group["spec"]["leaderWorkerTemplate"]["size"] == size
        pods = await pods_of(client, name, namespace)
        gpu_pods = [p for p in pods if p["metadata"]["labels"].get("component") != "router"]
        assert len(gpu_pods) == PODS[name]
        assert {p["spec"]["nodeName"] for p in gpu_pods} <= set(nodes)

    # a runtime's new image rolls the groups of the services using it, and no others
    runtimes = await client.resource(CLUSTERSERVINGRUNTIME)
    runtime_name = r1["spec"]["runtime"]["name"]
    others = {
        name: (await groups.get(f"lws-{name}-engine", namespace))["metadata"]["generation"]
        for name in ("deepseek-v3", "kimi-k2-instruct")
    }
    await add_nodes(client, nodes, 2)  # a surge group
    runtime = await runtimes.get(runtime_name)
    containers = runtime["spec"]["engineConfig"]["leader"]["runner"]
    image = f"{containers['image']}-rolled"
    await runtimes.patch(
        runtime_name, {"spec": {"engineConfig": {"leader": {"runner": {"image": image}}}}}
    )

    async def rolled() -> bool:
        group = await groups.get("lws-deepseek-r1-engine", namespace)
        template = group["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]
        return any(c["image"] == image for c in template["containers"])

    await eventually(rolled, timeout=60)

    def leader_images(pods: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return sorted(
            (
                p["metadata"]["name"],
                p["status"].get("phase", ""),
                p["spec"]["containers"][0]["image"],
            )
            for p in pods
            if p["metadata"]["labels"].get(WORKER_INDEX) == "0"
        )

    async def pods_rolled() -> bool:
        pods = await pods_of(client, "deepseek-r1", namespace)
        leaders = leader_images(pods)
        return len(pods) == 4 and all(found[1:] == ("Running", image) for found in leaders)

    try:
        await eventually(pods_rolled, timeout=180)
    except AssertionError:
        pods = await pods_of(client, "deepseek-r1", namespace)
        group = await groups.get("lws-deepseek-r1-engine", namespace)
        raise AssertionError(f"not rolled: {leader_images(pods)} {group['status']}") from None
    await ready(client, "deepseek-r1", namespace)
    for name, generation in others.items():
        group = await groups.get(f"lws-{name}-engine", namespace)
        assert group["metadata"]["generation"] == generation, name

    # deleting a service removes its groups, their pods and its Services
    await services.delete("kimi-k2-instruct", namespace)

    async def gone() -> bool:
        if await get_or_none(services, "kimi-k2-instruct", namespace) is not None:
            return False
        if await pods_of(client, "kimi-k2-instruct", namespace):
            return False
        for component in ("engine", "decoder"):
            if await get_or_none(groups, f"lws-kimi-k2-instruct-{component}", namespace):
                return False
        listed = await (await client.resource(SERVICE)).list(
            namespace, label_selector="ome.io/inferenceservice=kimi-k2-instruct"
        )
        return not listed

    await eventually(gone, timeout=120)


async def test_a_decoder_from_a_runtime_without_one_is_refused_by_name(
    client: Client, namespace: str, manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    await services.create(_sample("meta/llama3-3-70b-instruct.yaml", namespace))
    name = "llama-3-3-70b-instruct"

    async def refused() -> bool:
        ready_condition = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready_condition.get("reason") == "DecoderConfigMissing"

    await eventually(refused, timeout=60)
    message = _conditions(await services.get(name, namespace))["Ready"]["message"]
    assert "has no decoderConfig" in message
    assert not await pods_of(client, name, namespace)
