"""The InferenceService controller in-process against a real control plane with fake GPU
nodes: a sample becomes Ready, children follow the spec, runtimes and models wake the
services that use them, an unservable service reports why, and a child another owner
controls is never taken over."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.cli.operator import OperatorOptions, build_manager
from ome.client import GVK, Client, NotFound
from ome.controllers.inferenceservice import CONFIG_NAME, CONTROLLER_NAME, FINALIZER
from ome.controllers.kinds import (
    CLUSTERBASEMODEL,
    CLUSTERSERVINGRUNTIME,
    CONFIGMAP,
    DEPLOYMENT,
    HPA,
    INFERENCESERVICE,
    NODE,
    PDB,
    POD,
    ROLE,
    ROLEBINDING,
    SERVICE,
    SERVICEACCOUNT,
)
from ome.informers import CompactStore
from ome.runtime import Manager
from ome.serving.naming import model_ready_label
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT, ensure_namespace
from tests.compat.reference import CONFIG, QWEN_MODEL, QWEN_RUNTIME, QWEN_SAMPLE
from tests.integration.controllers.support import running_controller
from tests.integration.helpers import applied, delete_for_good, eventually, refused_nothing

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = CONFIG
MODEL_FILE, RUNTIME_FILE, SAMPLE_FILE = QWEN_MODEL, QWEN_RUNTIME, QWEN_SAMPLE
NODES = ("gpu-node-0", "gpu-node-1")
EVENT = GVK("events.k8s.io", "v1", "Event")


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def catalogue(cluster: Cluster) -> AsyncIterator[dict[str, dict[str, Any]]]:
    if not (MODEL_FILE.exists() and RUNTIME_FILE.exists() and SAMPLE_FILE.exists()):
        pytest.skip(f"the OME reference catalogue is not at {REFERENCE}")
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    model, runtime = _load(MODEL_FILE), _load(RUNTIME_FILE)
    async with applied(cluster, (model, runtime)):
        async with await cluster.client() as admin:
            await label_nodes(admin, model["metadata"]["name"])
        yield {"model": model, "runtime": runtime, "sample": _load(SAMPLE_FILE)}


async def label_nodes(client: Client, model: str) -> None:
    nodes = await client.resource(NODE)
    for node in NODES:
        label = {model_ready_label(model, None): "Ready"}
        await nodes.patch(node, {"metadata": {"labels": label}})


@pytest_asyncio.fixture(loop_scope="session")
async def manager(
    cluster: Cluster, namespace: str, catalogue: dict[str, Any]
) -> AsyncIterator[Manager]:
    async with running_controller(cluster, namespace, workers=2) as running:
        yield running


def service_in(sample: dict[str, Any], namespace: str, **spec: Any) -> dict[str, Any]:
    service = copy.deepcopy(sample)
    service["metadata"]["namespace"] = namespace
    service["spec"].update(spec)
    return service


def reconciles(manager: Manager) -> float:
    return sum(
        manager.registry.get_sample_value(
            "controller_runtime_reconcile_total",
            {"controller": CONTROLLER_NAME, "result": result},
        )
        or 0.0
        for result in ("success", "error", "requeue", "requeue_after", "terminal", "timeout")
    )


async def get_or_none(resource: Any, name: str, namespace: str | None = None) -> Any:
    try:
        return await resource.get(name, namespace)
    except NotFound:
        return None


async def test_sample_becomes_ready_and_is_deleted_with_its_children(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    deployments = await client.resource(DEPLOYMENT)
    pods = await client.resource(POD)
    service = service_in(catalogue["sample"], namespace)
    name = service["metadata"]["name"]
    await services.create(service)

    async def ready() -> bool:
        current = await services.get(name, namespace)
        return _conditions(current).get("Ready", {}).get("status") == "True"

    await eventually(ready, timeout=60)
    current = await services.get(name, namespace)
    assert current["status"]["url"].startswith(f"http://{name}.{namespace}.svc")
    assert FINALIZER in current["metadata"]["finalizers"]
    assert current["status"]["observedGeneration"] == current["metadata"]["generation"]
    listed = await pods.list(namespace, label_selector=f"ome.io/inferenceservice={name}")
    assert listed
    assert all(p["status"]["phase"] == "Running" for p in listed)
    assert {p["spec"]["nodeName"] for p in listed} <= set(NODES)
    names = {d["metadata"]["name"] for d in await deployments.list(namespace)}
    assert names == {f"{name}-engine", f"{name}-router"}

    async def announced() -> bool:
        events = await (await client.resource(EVENT)).list(namespace)
        return any(e["reason"] == "InferenceServiceReady" for e in events)

    await eventually(announced, timeout=10)

    # removing the router deletes its objects, and only them
    router = f"{name}-router"
    for kind in (DEPLOYMENT, SERVICEACCOUNT, HPA, PDB):
        assert await get_or_none(await client.resource(kind), router, namespace) is not None
    await services.patch(name, {"spec": {"router": None}}, namespace)

    async def router_gone() -> bool:
        for kind in (DEPLOYMENT, SERVICE, SERVICEACCOUNT, ROLE, ROLEBINDING, HPA, PDB):
            if await get_or_none(await client.resource(kind), router, namespace) is not None:
                return False
        return True

    await eventually(router_gone, timeout=30)
    assert await get_or_none(deployments, f"{name}-engine", namespace) is not None

    # deleting the service: the finalizer goes, then the garbage collector takes the rest
    await services.delete(name, namespace)

    async def all_gone() -> bool:
        if await get_or_none(services, name, namespace) is not None:
            return False
        selector = f"ome.io/inferenceservice={name}"
        for kind in (DEPLOYMENT, SERVICE, HPA, PDB):
            if await (await client.resource(kind)).list(namespace, label_selector=selector):
                return False
        return True

    await eventually(all_gone, timeout=60)


async def test_runtime_change_rolls_only_its_services(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    runtimes = await client.resource(CLUSTERSERVINGRUNTIME)
    services = await client.resource(INFERENCESERVICE)
    deployments = await client.resource(DEPLOYMENT)
    runtime = copy.deepcopy(catalogue["runtime"])
    runtime_name = f"srt-{namespace}"
    runtime["metadata"] = {"name": runtime_name}
    await runtimes.apply(runtime, field_manager="test", force=True)
    try:
        changed = service_in(catalogue["sample"], namespace, runtime={"name": runtime_name})
        changed["metadata"]["name"] = "changed"
        shipped = catalogue["runtime"]["metadata"]["name"]
        kept = service_in(catalogue["sample"], namespace, runtime={"name": shipped})
        kept["metadata"]["name"] = "kept"
        for service in (changed, kept):
            service["spec"].pop("router", None)
            await services.create(service)

        async def engines() -> dict[str, str]:
            found = {}
            for name in ("changed", "kept"):
                d = await get_or_none(deployments, f"{name}-engine", namespace)
                if d is not None:
                    found[name] = d["spec"]["template"]["spec"]["containers"][0]["image"]
            return found

        async def both() -> bool:
            return len(await engines()) == 2

        await eventually(both, timeout=30)
        before = {
            n: (await deployments.get(f"{n}-engine", namespace))["metadata"]["generation"]
            for n in ("changed", "kept")
        }
        image = "example.com/sglang:patched"
        runner = copy.deepcopy(runtime["spec"]["engineConfig"]["runner"])
        runner["image"] = image
        await runtimes.patch(runtime_name, {"spec": {"engineConfig": {"runner": runner}}})

        async def rolled() -> bool:
            return (await engines()).get("changed") == image

        await eventually(rolled, timeout=30)
        await asyncio.sleep(2)
        kept_now = await deployments.get("kept-engine", namespace)
        assert kept_now["metadata"]["generation"] == before["kept"]
        assert kept_now["spec"]["template"]["spec"]["containers"][0]["image"] != image
    finally:
        await runtimes.delete(runtime_name)


async def test_missing_model_fails_then_recovers(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    deployments = await client.resource(DEPLOYMENT)
    models = await client.resource(CLUSTERBASEMODEL)
    model_name = f"model-{namespace}"
    service = service_in(
        catalogue["sample"],
        namespace,
        model={"name": model_name},
        runtime={"name": catalogue["runtime"]["metadata"]["name"]},
    )
    name = service["metadata"]["name"]
    await services.create(service)

    async def failed() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready.get("status") == "False" and ready.get("reason") == "BaseModelNotFound"

    await eventually(failed, timeout=30)

    async def warned() -> bool:
        events = await (await client.resource(EVENT)).list(namespace)
        return any(e["reason"] == "BaseModelNotFound" and e["type"] == "Warning" for e in events)

    await eventually(warned, timeout=10)
    assert not await deployments.list(namespace)
    # no retries while nothing changes: the model's creation is what wakes it
    await asyncio.sleep(1)
    count = reconciles(manager)
    await asyncio.sleep(3)
    assert reconciles(manager) == count

    model = copy.deepcopy(catalogue["model"])
    model["metadata"] = {"name": model_name}
    await label_nodes(client, model_name)
    await models.apply(model, field_manager="test", force=True)
    try:

        async def ready() -> bool:
            current = await services.get(name, namespace)
            return _conditions(current).get("Ready", {}).get("status") == "True"

        await eventually(ready, timeout=60)
        assert await get_or_none(deployments, f"{name}-engine", namespace) is not None
    finally:
        await delete_for_good(models, model_name)


async def test_a_child_refused_as_invalid_is_reported_and_not_retried(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    """Engine annotations over the 256 KiB an object may carry: the API server refuses
    the engine Deployment as invalid. The service says so, naming the field, and is not
    retried (the chaos suite's bad objects met a retry loop that told nobody)."""
    services = await client.resource(INFERENCESERVICE)
    service = service_in(catalogue["sample"], namespace)
    service["spec"].setdefault("engine", {})["annotations"] = {
        f"example.com/fill-{i}": "x" * 1000 for i in range(300)
    }
    name = service["metadata"]["name"]
    await services.create(service)

    async def failed() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return (
            ready.get("status") == "False"
            and ready.get("reason") == "ChildInvalid"
            and "metadata.annotations" in ready.get("message", "")
        )

    await eventually(failed, timeout=30)

    async def warned() -> bool:
        events = await (await client.resource(EVENT)).list(namespace)
        return any(e["reason"] == "ChildInvalid" and e["type"] == "Warning" for e in events)

    await eventually(warned, timeout=10)
    await asyncio.sleep(1)
    count = reconciles(manager)
    await asyncio.sleep(3)
    assert reconciles(manager) == count


async def a_broken_config_fails_the_service_until_fixed(
    client: Client, sample: dict[str, Any], namespace: str, config_namespace: str
) -> str:
    """Create an unparsable config in ``config_namespace`` and a service in ``namespace``:
    the service fails with InvalidConfig and no children until the config is fixed, then
    gets its engine. Returns the service's name."""
    configmaps = await client.resource(GVK("", "v1", "ConfigMap"))
    services = await client.resource(INFERENCESERVICE)
    deployments = await client.resource(DEPLOYMENT)
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_NAME, "namespace": config_namespace},
        "data": {"deploy": "not json"},
    }
    await configmaps.create(config)
    service = service_in(sample, namespace)
    name: str = service["metadata"]["name"]
    await services.create(service)

    async def invalid() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready.get("reason") == "InvalidConfig"

    await eventually(invalid, timeout=60)
    assert not await deployments.list(namespace)

    deploy = '{"defaultDeploymentMode": "RawDeployment"}'
    await configmaps.patch(CONFIG_NAME, {"data": {"deploy": deploy}}, config_namespace)

    async def applied() -> bool:
        return await get_or_none(deployments, f"{name}-engine", namespace) is not None

    await eventually(applied, timeout=60)
    return name


async def test_config_change_wakes_every_service(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    await a_broken_config_fails_the_service_until_fixed(
        client, catalogue["sample"], namespace, namespace
    )


async def test_an_operator_watching_one_namespace_reads_its_config_from_its_own(
    cluster: Cluster, client: Client, namespace: str, catalogue: dict[str, Any]
) -> None:
    """``ome run --namespace team --operator-namespace ome``: services in the watched
    namespace, configuration in the operator's, which the manager does not watch. The
    caches of services and children are compact, as ``ome run`` keeps them."""
    own = f"{namespace}-operator"
    await ensure_namespace(client, own)
    options = OperatorOptions(
        operator_namespace=own,
        namespace=namespace,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        webhook_address=None,
        handle_signals=False,
    )
    services = await client.resource(INFERENCESERVICE)
    try:
        with refused_nothing(cluster, MANAGER_ACCOUNT):
            async with await cluster.operator_client() as operator:
                manager = build_manager(operator, options)
                assert isinstance(manager.informer(INFERENCESERVICE).store, CompactStore)
                assert isinstance(manager.informer(DEPLOYMENT).store, CompactStore)
                async with manager.running():
                    name = await a_broken_config_fails_the_service_until_fixed(
                        client, catalogue["sample"], namespace, own
                    )

                    async def ready() -> bool:
                        current = await services.get(name, namespace)
                        return _conditions(current).get("Ready", {}).get("status") == "True"

                    await eventually(ready, timeout=60)
                    await services.delete(name, namespace)

                    async def gone() -> bool:
                        return await get_or_none(services, name, namespace) is None

                    await eventually(gone, timeout=60)
    finally:
        await client.delete(f"/api/v1/namespaces/{own}")


# ---- children another owner controls ---------------------------------------------------
# A child another owner controls is never taken over: the service that would need it
# reports the conflict (condition and Event, naming the object and its owner), writes
# nothing more while it lasts, and serves by itself once the object is gone.

QUIET = 5.0  # seconds of watching the writes of a blocked service


def _configmap(name: str, namespace: str, owner: dict[str, Any] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
            }
        ]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}}


async def _blocked(client: Client, name: str, namespace: str) -> dict[str, Any]:
    services = await client.resource(INFERENCESERVICE)

    async def conflict() -> bool:
        ready = _conditions(await services.get(name, namespace)).get("Ready", {})
        return ready.get("reason") == "OwnershipConflict"

    await eventually(conflict, timeout=60)
    found: dict[str, Any] = _conditions(await services.get(name, namespace))["Ready"]
    return found


async def test_a_child_controlled_by_another_service_is_not_taken(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    configmaps = await client.resource(CONFIGMAP)
    deployments = await client.resource(DEPLOYMENT)
    first = service_in(catalogue["sample"], namespace)
    first["metadata"]["name"] = "first"
    await services.create(first)
    owner = await services.get("first", namespace)
    # the object the second service needs, already controlled by the first
    await configmaps.create(_configmap("modelconfig-second", namespace, owner))
    writes: list[str] = []
    manager.client.write_observers.append(lambda method, path, body: writes.append(path))
    second = service_in(catalogue["sample"], namespace)
    second["metadata"]["name"] = "second"
    await services.create(second)

    ready = await _blocked(client, "second", namespace)
    assert ready["status"] == "False"
    assert (
        f"ConfigMap {namespace}/modelconfig-second is controlled by InferenceService first"
        in (ready["message"])
    )
    events = await (await client.resource(EVENT)).list(namespace)
    warned = [
        e
        for e in events
        if e["regarding"]["name"] == "second" and e["reason"] == "OwnershipConflict"
    ]
    assert len(warned) == 1
    assert "modelconfig-second" in warned[0]["note"]
    assert await get_or_none(deployments, "second-engine", namespace) is None

    # nothing is traded back and forth: the object keeps its owner and content, and the
    # blocked service writes nothing more (the first one, becoming Ready, may)
    seen = len(writes)
    await asyncio.sleep(QUIET)
    held = await configmaps.get("modelconfig-second", namespace)
    assert held["metadata"]["ownerReferences"][0]["name"] == "first"
    assert held["data"] == {"k": "v"}
    later = writes[seen:]
    assert not [p for p in later if "second" in p], later
    assert not [p for p in writes if p.endswith("/configmaps/modelconfig-second")], writes

    # once its owner lets the object go, the blocked service serves by itself
    await configmaps.delete("modelconfig-second", namespace)

    async def serving() -> bool:
        current = _conditions(await services.get("second", namespace)).get("Ready", {})
        return current.get("reason") != "OwnershipConflict" and (
            await get_or_none(deployments, "second-engine", namespace) is not None
        )

    await eventually(serving, timeout=60)
    config = await configmaps.get("modelconfig-second", namespace)
    assert config["metadata"]["ownerReferences"][0]["name"] == "second"


async def test_a_deleted_predecessors_children_are_replaced_and_deletion_takes_the_children(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    """A child still controlled by a deleted service of the same name (garbage the
    garbage collector has not removed yet) does not block its successor; deleting a
    service deletes its children through the operator, before the collector could."""
    services = await client.resource(INFERENCESERVICE)
    configmaps = await client.resource(CONFIGMAP)
    deployments = await client.resource(DEPLOYMENT)
    predecessor = {
        "apiVersion": INFERENCESERVICE.api_version,
        "kind": INFERENCESERVICE.kind,
        "metadata": {"name": "heir", "uid": "0b7e2a4c-0000-4000-8000-000000000001"},
    }
    await configmaps.create(_configmap("modelconfig-heir", namespace, predecessor))
    writes: list[tuple[str, str]] = []
    manager.client.write_observers.append(lambda method, path, body: writes.append((method, path)))
    heir = service_in(catalogue["sample"], namespace)
    heir["metadata"]["name"] = "heir"
    heir["spec"].pop("router", None)
    await services.create(heir)
    uid = (await services.get("heir", namespace))["metadata"]["uid"]

    async def serving() -> bool:
        config = await get_or_none(configmaps, "modelconfig-heir", namespace)
        owners = (config or {}).get("metadata", {}).get("ownerReferences") or []
        return [o["uid"] for o in owners] == [uid] and (
            await get_or_none(deployments, "heir-engine", namespace) is not None
        )

    # (the garbage collector of this cluster may have taken the old ConfigMap first)
    await eventually(serving, timeout=60)

    await services.delete("heir", namespace)
    await eventually(lambda: _gone(services, "heir", namespace), timeout=60)
    deleted = {path for method, path in writes if method == "DELETE"}
    assert f"/apis/apps/v1/namespaces/{namespace}/deployments/heir-engine" in deleted
    assert f"/api/v1/namespaces/{namespace}/configmaps/modelconfig-heir" in deleted


async def _gone(resource: Any, name: str, namespace: str) -> bool:
    return await get_or_none(resource, name, namespace) is None


async def test_an_object_someone_else_created_is_left_alone(
    client: Client, namespace: str, catalogue: dict[str, Any], manager: Manager
) -> None:
    services = await client.resource(INFERENCESERVICE)
    configmaps = await client.resource(CONFIGMAP)
    await configmaps.create(_configmap("modelconfig-theirs", namespace, None))
    service = service_in(catalogue["sample"], namespace)
    service["metadata"]["name"] = "theirs"
    await services.create(service)

    ready = await _blocked(client, "theirs", namespace)
    assert "ConfigMap" in ready["message"]
    assert "no controller" in ready["message"]
    await asyncio.sleep(QUIET)
    mine = await configmaps.get("modelconfig-theirs", namespace)
    assert mine["data"] == {"k": "v"}
    assert "ownerReferences" not in mine["metadata"]
    assert _conditions(await services.get("theirs", namespace))["Ready"]["reason"] == (
        "OwnershipConflict"
    )
