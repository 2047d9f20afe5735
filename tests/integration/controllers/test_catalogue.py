"""The whole upstream catalogue in the test cluster: upstream samples that ``ome explain``
resolves become Ready on the fake GPU nodes, batched to fit their GPUs, and leave nothing
behind when deleted; services that name a bad runtime (or match none) report why, without
children or retries, and recover when the runtime is fixed."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.api.documents import manifest_files, read_documents
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import validate_object
from ome.client import GVK, Client, NotFound
from ome.controllers.kinds import (
    CLUSTERBASEMODEL,
    CLUSTERSERVINGRUNTIME,
    CONFIGMAP,
    DEPLOYMENT,
    HPA,
    INFERENCESERVICE,
    PDB,
    POD,
    ROLE,
    ROLEBINDING,
    SERVICE,
    SERVICEACCOUNT,
)
from ome.runtime import Manager
from ome.serving import MemoryCatalog, ServingError, parse_config, plan_service
from ome.serving.problems import Reason
from ome.serving.render import render_objects
from ome.testing.pytest_plugin import Cluster
from tests.integration.controllers.support import running_controller
from tests.integration.controllers.test_inferenceservice import (
    EVENT,
    NODE,
    NODES,
    _conditions,
    get_or_none,
    label_nodes,
    reconciles,
)
from tests.integration.helpers import applied, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / ".." / "shared" / "ome-reference" / "config"
CATALOGUE_DIRS = (REFERENCE / "models", REFERENCE / "runtimes")
SAMPLES = REFERENCE / "samples" / "isvc"
NAMESPACE = GVK("", "v1", "Namespace")
CHILD_KINDS = (DEPLOYMENT, SERVICE, SERVICEACCOUNT, ROLE, ROLEBINDING, HPA, PDB)
# Per batch: with pods of 1 or 2 GPUs, 14 GPUs in all always fit two 8-GPU nodes
# whatever the scheduler's placement (a 2-GPU pod left out means both nodes hold >= 7).
MAX_POD_GPUS = 2
BATCH_GPUS = 14
# The fake nodes' CPU and memory, not their GPUs, bound a batch: the engines request
# tens of CPUs and hundreds of GiB each, so two services (engine and router) are run
# at once.
BATCH_SERVICES = 2
WANTED = 20


@dataclass(frozen=True)
class Sample:
    path: Path
    content: dict[str, Any]
    gpus: int
    named: bool  # spec.runtime names the runtime (else auto-selected)
    router: bool
    node_labels: frozenset[str]  # the model-ready label keys its pods select on


def _documents(paths: list[Path]) -> list[dict[str, Any]]:
    return [
        d.content
        for f in manifest_files(paths)
        for d in read_documents(f.read_text(), str(f))
        if isinstance(d.content, dict)
    ]


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}


def quantity(text: Any) -> float:
    """A Kubernetes quantity as a number (the forms the catalogue and nodes use)."""
    text = str(text)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for unit, factor in _UNITS.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def _requests(objects: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """CPU and memory requested by each rendered pod."""
    found = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        cpu = memory = 0.0
        for c in obj["spec"]["template"]["spec"]["containers"]:
            requests = (c.get("resources") or {}).get("requests") or {}
            cpu += quantity(requests.get("cpu", 0))
            memory += quantity(requests.get("memory", 0))
        found.append((cpu, memory))
    return found


def _node_keys(objects: list[dict[str, Any]]) -> set[str]:
    """The node label keys the rendered pods select on (selector and required affinity)."""
    keys: set[str] = set()
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        keys |= set(pod.get("nodeSelector") or {})
        required = ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or {}
        for term in required.get("nodeSelectorTerms") or []:
            keys |= {e["key"] for e in term.get("matchExpressions") or []}
    return keys


def _gpus(objects: list[dict[str, Any]]) -> list[int]:
    """GPUs of each pod the rendered Deployments run (one entry per replica)."""
    found = []
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        gpus = sum(
            int(((c.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu", 0))
            for c in pod["containers"]
        )
        found += [gpus] * int(obj["spec"].get("replicas", 1))
    return found


def plannable_samples(
    catalogue: list[dict[str, Any]], allocatable: tuple[float, float]
) -> list[Sample]:
    """The upstream samples the planner serves offline from the catalogue (as
    ``ome explain`` does), with their GPUs; those whose pods need more than
    ``MAX_POD_GPUS``, more CPU or memory than a fake node has, or node labels other than
    the model-ready ones are left out."""
    catalog = MemoryCatalog.of(
        m for m in (validate_object(c, KINDS).model for c in catalogue) if m is not None
    )
    config = parse_config(None)
    found = []
    for content in _documents([SAMPLES]):
        service = validate_object(content, KINDS).model
        if not isinstance(service, InferenceService):
            continue
        try:
            plan = plan_service(service, catalog, config)
        except ServingError:
            continue
        objects = render_objects(plan)
        pods = _gpus(objects)
        if not pods or max(pods) > MAX_POD_GPUS:
            continue
        if any(c > allocatable[0] or m > allocatable[1] for c, m in _requests(objects)):
            continue
        # the fake nodes carry only the model-ready labels the test sets
        if any(not k.startswith("models.ome.io/") for k in _node_keys(objects)):
            continue
        spec = content["spec"]
        found.append(
            Sample(
                Path(content["metadata"]["name"]),
                content,
                sum(pods),
                bool(spec.get("runtime")),
                bool(spec.get("router")),
                frozenset(_node_keys(objects)),
            )
        )
    return found


async def all_ready_or_why(client: Client, placed: list[tuple[str, str]], timeout: float) -> None:
    """Wait until every (name, namespace) service is Ready; else fail with each one's
    Ready reason and message and its pods' phases, nodes and condition messages."""
    services = await client.resource(INFERENCESERVICE)
    pods = await client.resource(POD)

    async def all_ready() -> bool:
        for name, namespace in placed:
            current = await services.get(name, namespace)
            if _conditions(current).get("Ready", {}).get("status") != "True":
                return False
        return True

    try:
        await eventually(all_ready, timeout=timeout)
    except AssertionError:
        states = {}
        for name, namespace in placed:
            ready = _conditions(await services.get(name, namespace)).get("Ready", {})
            phases = [
                (
                    p["status"].get("phase"),
                    p["spec"].get("nodeName"),
                    [c.get("message") for c in p["status"].get("conditions") or []],
                )
                for p in await pods.list(namespace)
            ]
            states[f"{namespace}/{name}"] = (ready.get("reason"), ready.get("message"), phases)
        raise AssertionError(f"not Ready within {timeout:.0f}s: {states}") from None


def batches(samples: list[Sample]) -> list[list[Sample]]:
    packed: list[list[Sample]] = [[]]
    for sample in samples:
        full = len(packed[-1]) >= BATCH_SERVICES
        if full or sum(s.gpus for s in packed[-1]) + sample.gpus > BATCH_GPUS:
            packed.append([])
        packed[-1].append(sample)
    return packed


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def installed(cluster: Cluster) -> AsyncIterator[list[dict[str, Any]]]:
    if not all(d.is_dir() for d in (*CATALOGUE_DIRS, SAMPLES)):
        pytest.skip(f"the OME reference catalogue is not at {REFERENCE}")
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    catalogue = [
        c
        for c in _documents(list(CATALOGUE_DIRS))
        if c.get("kind") in ("ClusterBaseModel", "ClusterServingRuntime")
    ]
    # Removed afterwards: left installed, 200 cluster-wide models would be every later
    # test's model agents' work.
    async with applied(cluster, catalogue):
        yield catalogue


@pytest_asyncio.fixture(loop_scope="session")
async def manager(cluster: Cluster, installed: list[dict[str, Any]]) -> AsyncIterator[Manager]:
    async with running_controller(cluster, None, workers=4) as running:
        yield running


async def create_namespace(client: Client, name: str) -> None:
    await client.create(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )


async def children(client: Client, name: str, namespace: str) -> list[str]:
    selector = f"ome.io/inferenceservice={name}"
    found = []
    for kind in (*CHILD_KINDS, POD):
        for obj in await (await client.resource(kind)).list(namespace, label_selector=selector):
            found.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return found


async def test_catalogue_samples_become_ready_in_batches(
    client: Client, installed: list[dict[str, Any]], manager: Manager
) -> None:
    first = await (await client.resource(NODE)).get(NODES[0])
    free = first["status"]["allocatable"]
    samples = plannable_samples(installed, (quantity(free["cpu"]), quantity(free["memory"])))
    assert len(samples) >= WANTED, [s.path for s in samples]
    # a mix: named and auto-selected runtimes, engine+router and engine only
    assert {s.named for s in samples} == {True, False}
    assert {s.router for s in samples} == {True, False}
    services = await client.resource(INFERENCESERVICE)
    pods = await client.resource(POD)
    for model in {s.content["spec"]["model"]["name"] for s in samples}:
        await label_nodes(client, model)
    # and any model-ready key the pods select on in another form (long model names)
    keys = {k: "Ready" for s in samples for k in s.node_labels}
    for node in NODES:
        await (await client.resource(NODE)).patch(node, {"metadata": {"labels": keys}})
    prefix = f"cat-{secrets.token_hex(3)}"
    created: list[str] = []
    try:
        for number, batch in enumerate(batches(samples)):
            placed = []
            for index, sample in enumerate(batch):
                namespace = f"{prefix}-{number}-{index}"
                await create_namespace(client, namespace)
                created.append(namespace)
                service = copy.deepcopy(sample.content)
                service["metadata"] = {
                    "name": sample.content["metadata"]["name"],
                    "namespace": namespace,
                }
                await services.create(service)
                placed.append((service["metadata"]["name"], namespace))

            await all_ready_or_why(client, placed, timeout=60)
            for name, namespace in placed:
                current = await services.get(name, namespace)
                assert current["status"]["url"].startswith(f"http://{name}.{namespace}.svc")
                listed = await pods.list(
                    namespace, label_selector=f"ome.io/inferenceservice={name}"
                )
                assert listed, name
                assert all(p["status"]["phase"] == "Running" for p in listed), name
                assert {p["spec"]["nodeName"] for p in listed} <= set(NODES), name
                assert await children(client, name, namespace)
            for name, namespace in placed:
                await services.delete(name, namespace)

            async def all_gone(placed: list[tuple[str, str]] = placed) -> bool:
                for name, namespace in placed:
                    if await get_or_none(services, name, namespace) is not None:
                        return False
                    if await children(client, name, namespace):
                        return False
                return True

            await eventually(all_gone, timeout=60)
    finally:
        for namespace in created:
            await client.delete(f"/api/v1/namespaces/{namespace}")


# ---- bad input end to end -------------------------------------------------------------

QWEN_MODEL = "qwen1-5-7b-chat"
QWEN_RUNTIME = "srt-qwen1-5-7b-chat"


def _named(installed: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(c for c in installed if c["kind"] == kind and c["metadata"]["name"] == name)


async def _fails_quietly(
    client: Client, manager: Manager, name: str, namespace: str, reason: Reason
) -> None:
    services = await client.resource(INFERENCESERVICE)

    async def failed() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready.get("status") == "False" and ready.get("reason") == reason.value

    await eventually(failed, timeout=30)

    async def warned() -> bool:
        events = await (await client.resource(EVENT)).list(namespace)
        return any(e["reason"] == reason.value and e["type"] == "Warning" for e in events)

    await eventually(warned, timeout=10)
    assert not await children(client, name, namespace)


def _service(namespace: str, model: str, runtime: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"model": {"name": model}, "engine": {"minReplicas": 1}}
    if runtime is not None:
        spec["runtime"] = {"name": runtime}
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": spec,
    }


async def test_bad_runtimes_fail_quietly_then_recover(
    client: Client, installed: list[dict[str, Any]], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    runtimes = await client.resource(CLUSTERSERVINGRUNTIME)
    models = await client.resource(CLUSTERBASEMODEL)
    tag = secrets.token_hex(3)
    runtime = _named(installed, "ClusterServingRuntime", QWEN_RUNTIME)
    model = _named(installed, "ClusterBaseModel", QWEN_MODEL)
    await label_nodes(client, QWEN_MODEL)
    missing, disabled, wrong = f"missing-{tag}", f"disabled-{tag}", f"wrong-{tag}"
    lonely = f"lonely-{tag}"  # a model whose format no runtime supports
    await label_nodes(client, lonely)

    disabled_rt = copy.deepcopy(runtime)
    disabled_rt["metadata"] = {"name": disabled}
    disabled_rt["spec"]["disabled"] = True
    wrong_rt = copy.deepcopy(runtime)
    wrong_rt["metadata"] = {"name": wrong}
    for supported in wrong_rt["spec"]["supportedModelFormats"]:
        supported["modelFormat"] = {"name": f"format-{tag}", "version": "1.0.0"}
        supported["autoSelect"] = False
    lonely_model = copy.deepcopy(model)
    lonely_model["metadata"] = {"name": lonely}
    lonely_model["spec"]["modelFormat"] = {"name": f"none-{tag}", "version": "1.0.0"}
    for obj, resource in ((disabled_rt, runtimes), (wrong_rt, runtimes), (lonely_model, models)):
        await resource.apply(obj, field_manager="test", force=True)

    cases = {
        missing: (QWEN_MODEL, missing, Reason.RUNTIME_NOT_FOUND),
        disabled: (QWEN_MODEL, disabled, Reason.RUNTIME_DISABLED),
        wrong: (QWEN_MODEL, wrong, Reason.RUNTIME_INCOMPATIBLE),
        lonely: (lonely, None, Reason.NO_SUPPORTING_RUNTIME),
    }
    namespaces = {key: f"bad-{key}" for key in cases}
    try:
        for key, (model_name, runtime_name, _) in cases.items():
            await create_namespace(client, namespaces[key])
            await services.create(_service(namespaces[key], model_name, runtime_name))
        for key, (_, _, reason) in cases.items():
            await _fails_quietly(client, manager, "bad", namespaces[key], reason)
        # no retries while nothing changes
        await asyncio.sleep(1)
        count = reconciles(manager)
        await asyncio.sleep(3)
        assert reconciles(manager) == count

        # recovery: the missing runtime is created, the disabled one enabled
        created_rt = copy.deepcopy(runtime)
        created_rt["metadata"] = {"name": missing}
        await runtimes.apply(created_rt, field_manager="test", force=True)
        await runtimes.patch(disabled, {"spec": {"disabled": False}})
        for key in (missing, disabled):

            async def ready(namespace: str = namespaces[key]) -> bool:
                current = await services.get("bad", namespace)
                return _conditions(current).get("Ready", {}).get("status") == "True"

            await eventually(ready, timeout=60)
            assert await get_or_none(
                await client.resource(DEPLOYMENT), "bad-engine", namespaces[key]
            )
    finally:
        for namespace in namespaces.values():
            await client.delete(f"/api/v1/namespaces/{namespace}")
        for name in (missing, disabled, wrong):
            with contextlib.suppress(NotFound):
                await runtimes.delete(name)
        await models.delete(lonely)


# ---- services whose names end alike ----------------------------------------------------

VISION = ("meta/llama3-2-11b-vision.yaml", "unsloth/llama3-2-11b-vision.yaml")
QUIET_SECONDS = 30
SETTLE_SECONDS = 5


async def test_services_ending_alike_in_one_namespace_are_ready_and_then_quiet(
    client: Client, installed: list[dict[str, Any]], manager: Manager
) -> None:
    """Upstream names both samples' model ConfigMap ``modelconfig--11b-vision-instruct``
    and its two owners then trade it back and forth; here each service has its own, both
    become Ready, and the operator then writes nothing at all."""
    documents = _documents([SAMPLES / path for path in VISION])
    (namespace,) = {d["metadata"]["name"] for d in documents if d["kind"] == "Namespace"}
    samples = [d for d in documents if d["kind"] == "InferenceService"]
    # upstream's agent back-fills the meta model from its config.json; here it gets what
    # the unsloth copy of the same weights declares
    unsloth = _named(installed, "ClusterBaseModel", "unsloth-llama-3-2-11b-vision-instruct")
    facts = ("modelArchitecture", "modelFormat", "modelFramework", "modelParameterSize")
    models = await client.resource(CLUSTERBASEMODEL)
    await models.patch(
        "llama-3-2-11b-vision-instruct", {"spec": {k: unsloth["spec"][k] for k in facts}}
    )
    for sample in samples:
        await label_nodes(client, sample["spec"]["model"]["name"])
    services = await client.resource(INFERENCESERVICE)
    configmaps = await client.resource(CONFIGMAP)
    await create_namespace(client, namespace)
    try:
        for sample in samples:
            await services.create(sample)

        placed = [(s["metadata"]["name"], namespace) for s in samples]
        await all_ready_or_why(client, placed, timeout=90)
        writes: list[str] = []
        manager.client.write_observers.append(lambda method, path, body: writes.append(path))

        def here() -> list[str]:
            # (an earlier test's namespaces may still be going, their services' finalizers
            # removed meanwhile)
            return [p for p in writes if f"/namespaces/{namespace}/" in p]

        # The Events of becoming Ready may still be on their way when the status says so;
        # a settled pair is one that then stays quiet (a ConfigMap traded back and forth
        # never would).
        deadline = time.monotonic() + 60
        while True:
            writes.clear()
            await asyncio.sleep(SETTLE_SECONDS)
            if not here() or time.monotonic() > deadline:
                break
        writes.clear()
        await asyncio.sleep(QUIET_SECONDS)
        assert here() == []
        owners = {
            c["metadata"]["name"]: c["metadata"]["ownerReferences"][0]["name"]
            for c in await configmaps.list(namespace, label_selector="ome.io/inferenceservice")
        }
        assert sorted(owners.values()) == sorted(s["metadata"]["name"] for s in samples)
        assert all(name.startswith("modelconfig-") for name in owners)
        loops = manager.registry.get_sample_value(
            "controller_runtime_write_loops_total", {"controller": "inferenceservice-controller"}
        )
        assert loops == 0
    finally:
        await client.delete(f"/api/v1/namespaces/{namespace}")
