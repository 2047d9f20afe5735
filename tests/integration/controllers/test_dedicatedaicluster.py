"""DedicatedAIClusters end to end: the DAC and InferenceService controllers in-process
(as the operator's ServiceAccount) on the control plane with the real scheduler and fake
8-GPU nodes made for each test (selected by the profile, so the session's own nodes stay
out of it).

A DAC of two one-pod units is ACTIVE with 16 GPUs available; ordinary pods fill the rest
and wait with the scheduler's reason, while a service annotated with the DAC is placed at
once on the reserved capacity; more units than the cluster holds fail with
NotEnoughResources and recover when a node is added; a training Job and a pod annotated
with the DAC run there too (placed by the pod webhook); a count below the allocation is refused
with the numbers; a profile change rolls the placeholders; deletion leaves the workloads
running. A service naming a DAC that does not exist waits unapplied
(DedicatedAIClusterNotFound) and proceeds once the DAC is created; one whose DAC is full is
applied, says so (DedicatedAIClusterFull) and becomes ready once the unit frees. Bad input
gets its own reason and no hot loop. ``ome run`` as a real process, SIGKILLed in the
middle of a change and again before a deletion, converges once restarted."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.cli.status_dac import observe, report
from ome.client import GVK, ApiError, Client, NotFound
from ome.controllers import dedicatedaicluster, inferenceservice
from ome.controllers.dedicatedaicluster.reconciler import FINALIZER
from ome.controllers.dedicatedaicluster.setup import CONTROLLER_NAME
from ome.controllers.kinds import (
    CONFIGMAP,
    DEDICATEDAICLUSTER,
    DEDICATEDAICLUSTERPROFILE,
    DEPLOYMENT,
    INFERENCESERVICE,
    NODE,
    POD,
    SERVICE,
)
from ome.runtime import Manager, ManagerOptions
from ome.serving.dedicated import (
    DAC_ANNOTATION,
    DAC_LABEL,
    PLACEHOLDER_LABEL,
    WORKLOAD_CLASS,
    label_value,
    placeholder_name,
)
from ome.serving.naming import model_ready_label
from ome.testing.nodes import FakeNode
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT
from tests.compat.reference import CONFIG, QWEN_MODEL, QWEN_RUNTIME, QWEN_SAMPLE
from tests.integration.helpers import applied, eventually, refused_nothing
from tests.integration.operator.support import Operator, create_namespace, operators
from tests.integration.webhooks.test_webhooks import LABEL, running_webhooks

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = CONFIG
MODEL_FILE, RUNTIME_FILE, SAMPLE_FILE = QWEN_MODEL, QWEN_RUNTIME, QWEN_SAMPLE
MODEL = "qwen1-5-7b-chat"
THRESHOLD = 5.0
EVENT = GVK("events.k8s.io", "v1", "Event")
JOB = GVK("batch", "v1", "Job")
UNIT = {
    "requests": {"nvidia.com/gpu": "8", "cpu": "1", "memory": "1Gi"},
    "limits": {"nvidia.com/gpu": "8", "cpu": "1", "memory": "1Gi"},
}


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def crds(cluster: Cluster) -> Cluster:
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    return cluster


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def catalogue(crds: Cluster) -> AsyncIterator[dict[str, Any]]:
    if not (MODEL_FILE.exists() and RUNTIME_FILE.exists() and SAMPLE_FILE.exists()):
        pytest.skip(f"the OME reference catalogue is not at {REFERENCE}")
    async with applied(crds, (_load(MODEL_FILE), _load(RUNTIME_FILE))):
        yield {"sample": _load(SAMPLE_FILE)}


class Nodes:
    """Fake 8-GPU nodes of one test, labelled ``pool={namespace}`` and model-ready."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client, self.pool, self.names = client, namespace, list[str]()

    async def add(self, count: int) -> None:
        resource = await self.client.resource(NODE)
        for _ in range(count):
            labels = {"pool": self.pool, model_ready_label(MODEL, None): "Ready"}
            node = FakeNode(f"{self.pool}-{len(self.names)}", gpus=8, labels=labels)
            await resource.create(node.manifest())
            self.names.append(node.name)

    async def remove(self) -> None:
        resource = await self.client.resource(NODE)
        for name in self.names:
            with contextlib.suppress(NotFound):
                await resource.delete(name)


@pytest_asyncio.fixture(loop_scope="session")
async def nodes(client: Client, namespace: str) -> AsyncIterator[Nodes]:
    made = Nodes(client, namespace)
    yield made
    await made.remove()


@pytest_asyncio.fixture(loop_scope="session")
async def manager(cluster: Cluster, namespace: str, catalogue: Any) -> AsyncIterator[Manager]:
    """Both controllers and the webhooks; the placeholders run in the test's namespace."""
    options = ManagerOptions(
        metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
    )
    with refused_nothing(cluster, MANAGER_ACCOUNT):
        client = await cluster.operator_client()
        running = Manager(client, options)
        inferenceservice.setup(running, workers=2)
        dedicatedaicluster.setup(running, namespace=namespace, threshold=THRESHOLD)
        try:
            async with running_webhooks(cluster, namespace), running.running():
                yield running
        finally:
            await client.close()


class Objects:
    """The test's DACs and profiles (cluster-scoped, labelled for the test's webhooks),
    deleted afterwards, DACs first."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client, self.namespace = client, namespace
        self.made: list[tuple[GVK, str]] = []

    async def make(self, kind: GVK, name: str, spec: dict[str, Any]) -> None:
        """Create; a DAC is retried while the webhook's cache has not seen its profile."""
        meta = {"name": name, "labels": {LABEL: self.namespace}}
        body = {"apiVersion": "ome.io/v1beta1", "kind": kind.kind, "metadata": meta, "spec": spec}
        resource = await self.client.resource(kind)

        async def created() -> bool:
            try:
                await resource.create(body)
            except ApiError as err:
                if "does not exist" not in str(err):
                    raise
                return False
            return True

        await eventually(created, timeout=30)
        entry = (kind, name)
        self.made.insert(0, entry) if kind == DEDICATEDAICLUSTER else self.made.append(entry)

    async def remove(self) -> None:
        for kind, name in self.made:
            with contextlib.suppress(NotFound):
                await (await self.client.resource(kind)).delete(name)
        for kind, name in self.made:
            resource = await self.client.resource(kind)

            async def gone(resource: Any = resource, name: str = name) -> bool:
                try:
                    await resource.get(name)
                except NotFound:
                    return True
                return False

            await eventually(gone, timeout=30)


@pytest_asyncio.fixture(loop_scope="session")
async def objects(client: Client, namespace: str) -> AsyncIterator[Objects]:
    made = Objects(client, namespace)
    yield made
    await made.remove()


async def status_of(client: Client, name: str) -> dict[str, Any]:
    dac = await (await client.resource(DEDICATEDAICLUSTER)).get(name)
    return dict(dac.get("status") or {})


async def until_state(
    client: Client, name: str, state: str, timeout: float = 60, **fields: Any
) -> dict[str, Any]:
    async def reached() -> bool:
        status = await status_of(client, name)
        wanted = {"dacLifecycleState": state, **fields}
        return all(status.get(k) == v for k, v in wanted.items())

    try:
        await eventually(reached, timeout=timeout)
    except AssertionError:
        raise AssertionError(
            f"{name} not {state} {fields}: {await status_of(client, name)}"
        ) from None
    return await status_of(client, name)


def training_job(namespace: str, dac: str) -> dict[str, Any]:
    """A Job of one whole-unit pod that names the DAC only by the annotation."""
    template = gpu_pod("", namespace, namespace)
    del template["spec"]["nodeSelector"]
    template["spec"]["restartPolicy"] = "Never"
    template["metadata"] = {
        "annotations": {"ome.io/dedicated-ai-cluster": dac},
        "labels": {LABEL: namespace},  # the test's webhooks see only these
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "trainer", "namespace": namespace},
        "spec": {"backoffLimit": 0, "template": template},
    }


def gpu_pod(name: str, namespace: str, pool: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, **extra},
        "spec": {
            "nodeSelector": {"pool": pool},
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": "busybox", "resources": UNIT}],
        },
    }


async def pod_state(client: Client, name: str, namespace: str) -> dict[str, Any]:
    pod: dict[str, Any] = await (await client.resource(POD)).get(name, namespace)
    return pod


async def events_of(client: Client, reason: str) -> list[dict[str, Any]]:
    found = await (await client.resource(EVENT)).list("default")
    return [e for e in found if e.get("reason") == reason]


@pytest.mark.usefixtures("manager")
async def test_a_dac_reserves_capacity_that_only_its_workloads_take(
    client: Client,
    namespace: str,
    nodes: Nodes,
    catalogue: dict[str, Any],
    objects: Objects,
) -> None:
    profile, dac = f"one-h100-{namespace}", f"team-{namespace}"
    await nodes.add(3)
    await objects.make(
        DEDICATEDAICLUSTERPROFILE,
        profile,
        {"count": 1, "resources": UNIT, "affinity": {}, "nodeSelector": {"pool": namespace}},
    )
    await objects.make(DEDICATEDAICLUSTER, dac, {"profile": profile, "count": 2})
    active = await until_state(client, dac, "ACTIVE", availableGpu=16, allocatedGpu=0)
    assert len(active["nodes"]) == 2
    assert active["conditions"][0]["reason"] == "Reserved"
    reserved = set(active["nodes"])
    for node in reserved:
        labels = (await (await client.resource(NODE)).get(node))["metadata"]["labels"]
        assert labels[DAC_LABEL] == dac

    # ordinary pods fill the rest; one more waits, with the scheduler's reason
    pods = await client.resource(POD)
    await pods.create(gpu_pod("filler", namespace, namespace))

    async def running(name: str) -> bool:
        return (await pod_state(client, name, namespace))["status"].get("phase") == "Running"

    await eventually(lambda: running("filler"), timeout=60)
    assert (await pod_state(client, "filler", namespace))["spec"]["nodeName"] not in reserved
    await pods.create(gpu_pod("outsider", namespace, namespace))

    async def unschedulable() -> bool:
        conditions = (await pod_state(client, "outsider", namespace))["status"].get("conditions")
        return any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
            for c in conditions or []
        )

    await eventually(unschedulable, timeout=60)

    # a service annotated with the DAC is placed at once on the reserved capacity
    services = await client.resource(INFERENCESERVICE)
    service = dict(catalogue["sample"])
    service["metadata"] = {
        "name": "tenant",
        "namespace": namespace,
        "annotations": {"ome.io/dedicated-ai-cluster": dac},
    }
    await services.create(service)

    async def ready() -> bool:
        current = await services.get("tenant", namespace)
        conditions = (current.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    await eventually(ready, timeout=90)
    (engine,) = await pods.list(
        namespace, label_selector="ome.io/inferenceservice=tenant,component=engine"
    )
    assert engine["spec"]["nodeName"] in reserved
    assert engine["spec"]["priorityClassName"] == "ome-dac-workload"
    assert engine["metadata"]["labels"]["volcano.sh/queue-name"] == dac  # upstream's label
    # the engine asks for 1 GPU: it holds one unit, whose placeholder it preempted
    await until_state(client, dac, "ACTIVE", availableGpu=8, allocatedGpu=1)
    outsider = await pod_state(client, "outsider", namespace)
    assert not outsider["spec"].get("nodeName")
    (scheduled,) = [c for c in outsider["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert "Insufficient nvidia.com/gpu" in scheduled["message"]

    # one unit more than the cluster holds: FAILED after the threshold, then ACTIVE once a
    # node is added (the outsider goes first, so the new node is the reservation's)
    dacs = await client.resource(DEDICATEDAICLUSTER)
    await dacs.patch(dac, {"spec": {"count": 3}})
    failed = await until_state(client, dac, "FAILED")
    assert failed["conditions"][0]["reason"] == "NotEnoughResources"
    assert "nvidia.com/gpu" in failed["lifecycleDetail"]
    await pods.delete("outsider", namespace)
    await nodes.add(1)
    grown = await until_state(client, dac, "ACTIVE", availableGpu=16, allocatedGpu=1)
    assert len(grown["nodes"]) == 3
    assert grown["observedGeneration"] == (await dacs.get(dac))["metadata"]["generation"]

    # a training Job annotated with the DAC: the pod webhook places its pod, which runs at
    # once on a reserved node (kwok then completes it)
    jobs = await client.resource(JOB)
    await jobs.create(training_job(namespace, dac))

    async def trained() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await pods.list(
            namespace, label_selector="batch.kubernetes.io/job-name=trainer"
        )
        return found

    async def trainer_ran() -> bool:
        return any(p["status"].get("phase") in ("Running", "Succeeded") for p in await trained())

    await eventually(trainer_ran, timeout=60)
    (trainer,) = await trained()
    assert trainer["spec"]["nodeName"] in grown["nodes"]
    assert trainer["spec"]["priorityClassName"] == "ome-dac-workload"
    assert trainer["metadata"]["labels"][DAC_LABEL] == dac

    # any pod annotated with the DAC joins it: one holding a whole unit keeps running
    holder = gpu_pod("holder", namespace, namespace, labels={LABEL: namespace})
    del holder["spec"]["nodeSelector"]
    holder["metadata"]["annotations"] = {"ome.io/dedicated-ai-cluster": dac}
    await pods.create(holder)
    await eventually(lambda: running("holder"), timeout=60)
    assert (await pod_state(client, "holder", namespace))["spec"]["nodeName"] in grown["nodes"]
    await until_state(client, dac, "ACTIVE", availableGpu=8, allocatedGpu=9)

    # fewer units than the workloads hold, or none, is refused with the numbers
    for count, expected in (
        (1, "1 unit(s) hold 8 GPUs, but the DAC's workloads hold 9"),
        (0, "spec.count must be a positive number of units, not 0"),
    ):
        with pytest.raises(ApiError, match=re.escape(expected)):
            await dacs.patch(dac, {"spec": {"count": count}})

    # a profile change rolls the placeholders of every DAC using it
    deployments = await client.resource(DEPLOYMENT)
    cpu2 = {
        "requests": {**UNIT["requests"], "cpu": "2"},
        "limits": {**UNIT["limits"], "cpu": "2"},
    }
    await (await client.resource(DEDICATEDAICLUSTERPROFILE)).patch(
        profile, {"spec": {"resources": cpu2}}
    )

    async def rolled() -> bool:
        deployment = await deployments.get(placeholder_name(dac), namespace)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        return bool(container["resources"]["requests"]["cpu"] == "2")

    await eventually(rolled, timeout=30)
    await until_state(client, dac, "ACTIVE", availableGpu=8, allocatedGpu=9)

    # deletion: placeholders and labels go, the workloads keep running, an Event says so
    await dacs.delete(dac)

    async def released() -> bool:
        try:
            await dacs.get(dac)
        except NotFound:
            return True
        return False

    await eventually(released, timeout=30)

    async def placeholders_gone() -> bool:
        listed = await pods.list(namespace, label_selector="ome.io/dac-placeholder=true")
        return not listed

    await eventually(placeholders_gone, timeout=60)
    for node in nodes.names:
        labels = (await (await client.resource(NODE)).get(node))["metadata"]["labels"]
        assert DAC_LABEL not in labels
    for pod in (engine["metadata"]["name"], "holder"):
        assert (await pods.get(pod, namespace))["status"]["phase"] == "Running"
    notes = [e["note"] for e in await events_of(client, "ReservationReleased")]
    assert any(engine["metadata"]["name"] in n and "holder" in n for n in notes), notes
    objects.made = [(k, n) for k, n in objects.made if k != DEDICATEDAICLUSTER]


def joining_service(catalogue: dict[str, Any], name: str, namespace: str, dac: str) -> Any:
    service = dict(catalogue["sample"])
    meta = {"name": name, "namespace": namespace, "annotations": {DAC_ANNOTATION: dac}}
    return {**service, "metadata": meta}


async def ready_condition(client: Client, name: str, namespace: str) -> dict[str, Any]:
    current = await (await client.resource(INFERENCESERVICE)).get(name, namespace)
    conditions = (current.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


async def until_ready(client: Client, name: str, namespace: str, **wanted: str) -> dict[str, Any]:
    """The service's Ready condition once it has the ``wanted`` fields."""

    async def reached() -> bool:
        condition = await ready_condition(client, name, namespace)
        return all(condition.get(k) == v for k, v in wanted.items())

    try:
        await eventually(reached, timeout=90)
    except AssertionError:
        raise AssertionError(
            f"{name} Ready not {wanted}: {await ready_condition(client, name, namespace)}"
        ) from None
    return await ready_condition(client, name, namespace)


async def warning(client: Client, namespace: str, reason: str) -> dict[str, Any]:
    """The Warning Event ``reason`` of the namespace's objects, once there is one."""

    async def found() -> list[dict[str, Any]]:
        listed = await (await client.resource(EVENT)).list(namespace)
        return [e for e in listed if e.get("reason") == reason]

    async def recorded() -> bool:
        return bool(await found())

    await eventually(recorded, timeout=30)
    (event, *_) = await found()
    assert event["type"] == "Warning"
    return event


async def engine_pods(client: Client, name: str, namespace: str) -> list[dict[str, Any]]:
    selector = f"ome.io/inferenceservice={name},component=engine"
    listed: list[dict[str, Any]] = await (await client.resource(POD)).list(
        namespace, label_selector=selector
    )
    return listed


@pytest.mark.usefixtures("manager")
async def test_a_service_naming_a_missing_dac_waits_unapplied_until_it_exists(
    client: Client,
    namespace: str,
    nodes: Nodes,
    catalogue: dict[str, Any],
    objects: Objects,
) -> None:
    profile, dac = f"one-h100-{namespace}", f"late-{namespace}"
    await nodes.add(1)
    unit = {"count": 1, "resources": UNIT, "affinity": {}, "nodeSelector": {"pool": namespace}}
    await objects.make(DEDICATEDAICLUSTERPROFILE, profile, unit)
    services = await client.resource(INFERENCESERVICE)
    await services.create(joining_service(catalogue, "early", namespace, dac))

    ready = await until_ready(
        client, "early", namespace, status="False", reason="DedicatedAIClusterNotFound"
    )
    assert (
        f"DedicatedAICluster {dac} (annotation {DAC_ANNOTATION}) does not exist"
        in (ready["message"])
    )
    event = await warning(client, namespace, "DedicatedAIClusterNotFound")
    assert event["regarding"]["name"] == "early"
    assert dac in event["note"]
    # nothing of the service is applied
    children = "ome.io/inferenceservice=early"
    for kind in (DEPLOYMENT, SERVICE, CONFIGMAP):
        assert not await (await client.resource(kind)).list(namespace, label_selector=children)
    with pytest.raises(NotFound):
        await (await client.resource(CONFIGMAP)).get("modelconfig-early", namespace)
    before = await services.get("early", namespace)

    # the DAC appears: the service proceeds by itself onto its reservation
    await objects.make(DEDICATEDAICLUSTER, dac, {"profile": profile, "count": 1})
    await until_ready(client, "early", namespace, status="True")
    (engine,) = await engine_pods(client, "early", namespace)
    # its engine took the unit's placeholder's place
    active = await until_state(client, dac, "ACTIVE", availableGpu=0, allocatedGpu=1)
    assert active["nodes"] == [engine["spec"]["nodeName"]]
    after = await services.get("early", namespace)
    for field in ("generation", "annotations", "labels"):
        assert after["metadata"].get(field) == before["metadata"].get(field)
    assert after["spec"] == before["spec"]


@pytest.mark.usefixtures("manager")
async def test_a_service_on_a_full_dac_is_applied_and_says_so_until_capacity_frees(
    client: Client,
    namespace: str,
    nodes: Nodes,
    catalogue: dict[str, Any],
    objects: Objects,
) -> None:
    profile, dac = f"one-h100-{namespace}", f"busy-{namespace}"
    await nodes.add(1)
    unit = {"count": 1, "resources": UNIT, "affinity": {}, "nodeSelector": {"pool": namespace}}
    await objects.make(DEDICATEDAICLUSTERPROFILE, profile, unit)
    await objects.make(DEDICATEDAICLUSTER, dac, {"profile": profile, "count": 1})
    await until_state(client, dac, "ACTIVE", availableGpu=8)
    # a pod of the DAC holds its only unit
    pods = await client.resource(POD)
    holder = gpu_pod("holder", namespace, namespace, labels={LABEL: namespace})
    del holder["spec"]["nodeSelector"]
    holder["metadata"]["annotations"] = {DAC_ANNOTATION: dac}
    await pods.create(holder)
    await until_state(client, dac, "ACTIVE", availableGpu=0, allocatedGpu=8)

    services = await client.resource(INFERENCESERVICE)
    await services.create(joining_service(catalogue, "crowded", namespace, dac))
    ready = await until_ready(
        client, "crowded", namespace, status="False", reason="DedicatedAIClusterFull"
    )
    assert ready["message"].startswith(
        f"the service needs 1 GPUs; DedicatedAICluster {dac} (ACTIVE) has 0 available"
    )
    event = await warning(client, namespace, "DedicatedAIClusterFull")
    assert event["regarding"]["name"] == "crowded"
    # applied all the same: its engine pod waits for the reservation
    await (await client.resource(DEPLOYMENT)).get("crowded-engine", namespace)

    async def engine_created() -> bool:
        return bool(await engine_pods(client, "crowded", namespace))

    await eventually(engine_created, timeout=30)
    (engine,) = await engine_pods(client, "crowded", namespace)
    assert not engine["spec"].get("nodeName")

    # the unit freed: the service is placed on it and ready, by itself
    await pods.delete("holder", namespace)
    await until_ready(client, "crowded", namespace, status="True")
    (engine,) = await engine_pods(client, "crowded", namespace)
    assert engine["spec"]["nodeName"] in nodes.names
    await until_state(client, dac, "ACTIVE", allocatedGpu=1)


def reconciles(manager: Manager) -> float:
    return sum(
        manager.registry.get_sample_value(
            "controller_runtime_reconcile_total",
            {"controller": CONTROLLER_NAME, "result": result},
        )
        or 0.0
        for result in ("success", "error", "requeue", "requeue_after", "terminal", "timeout")
    )


async def refused(client: Client, body: dict[str, Any]) -> str:
    try:
        await (await client.resource(DEDICATEDAICLUSTER)).create(body)
    except ApiError as err:
        return str(err)
    raise AssertionError(f"admitted: {body}")


async def test_bad_input_gets_a_reason_and_no_hot_loop(
    client: Client, namespace: str, nodes: Nodes, manager: Manager, objects: Objects
) -> None:
    await nodes.add(2)
    profiles = await client.resource(DEDICATEDAICLUSTERPROFILE)
    profile = f"unit-{namespace}"
    spec = {"resources": UNIT, "affinity": {}, "nodeSelector": {"pool": namespace}}
    await objects.make(DEDICATEDAICLUSTERPROFILE, profile, spec)
    off = f"off-{namespace}"
    await objects.make(DEDICATEDAICLUSTERPROFILE, off, {**spec, "disabled": True})

    # the webhook refuses what can never work, naming the field
    def dac(name: str, **fields: Any) -> dict[str, Any]:
        meta = {"name": name, "labels": {LABEL: namespace}}
        return {
            "apiVersion": "ome.io/v1beta1",
            "kind": "DedicatedAICluster",
            "metadata": meta,
            "spec": fields,
        }

    missing = await refused(client, dac(f"a-{namespace}", profile=f"no-{namespace}", count=1))
    assert f"spec.profile: DedicatedAIClusterProfile no-{namespace} does not exist" in missing
    disabled = await refused(client, dac(f"b-{namespace}", profile=off, count=1))
    assert f"DedicatedAIClusterProfile {off} is disabled" in disabled
    for count in (0, -2):
        assert "spec.count" in await refused(
            client, dac(f"c-{namespace}", profile=profile, count=count)
        )

    # what goes wrong later: the controller says why for every DAC of the profile, and
    # they recover by themselves
    teams = [f"team-{namespace}", f"pair-{namespace}"]
    for team in teams:
        await objects.make(DEDICATEDAICLUSTER, team, {"profile": profile, "count": 1})
    for team in teams:
        await until_state(client, team, "ACTIVE", availableGpu=8)
    await profiles.patch(profile, {"spec": {"disabled": True}})
    for team in teams:
        failed = await until_state(client, team, "FAILED")
        assert failed["conditions"][0]["reason"] == "ProfileDisabled"
        assert failed["availableGpu"] == 8  # the placeholders stay: nothing released by mistake
    await profiles.delete(profile)
    for team in teams:
        failed = await until_state(
            client,
            team,
            "FAILED",
            lifecycleDetail=f"DedicatedAIClusterProfile {profile} does not exist",
        )
        assert failed["conditions"][0]["reason"] == "ProfileNotFound"

    # resources no node can ever satisfy: the scheduler's reason, after the threshold
    huge = f"huge-{namespace}"
    giant = {"requests": {"nvidia.com/gpu": "64"}, "limits": {"nvidia.com/gpu": "64"}}
    await profiles.patch(off, {"spec": {"disabled": False}})
    await objects.make(DEDICATEDAICLUSTER, huge, {"profile": off, "count": 1, "resources": giant})
    failed = await until_state(client, huge, "FAILED")
    assert failed["conditions"][0]["reason"] == "NotEnoughResources"
    assert "Insufficient nvidia.com/gpu" in failed["lifecycleDetail"]

    # settled: a few reconciles at most while nothing changes
    before = reconciles(manager)
    await asyncio.sleep(2 * THRESHOLD)
    assert reconciles(manager) - before < 10

    # the profile back: both DACs recover by themselves
    await objects.make(DEDICATEDAICLUSTERPROFILE, profile, spec)
    for team in teams:
        await until_state(client, team, "ACTIVE", availableGpu=8)


OPERATOR_NAMESPACE = "ome"


@pytest_asyncio.fixture(loop_scope="session")
async def operator_runs(crds: Cluster, client: Client, tmp_path: Path) -> list[Operator]:
    """Three ``ome run`` processes (not started) as in its Deployment: the operator's
    ServiceAccount under the shipped RBAC; the placeholders run in its own namespace."""
    await create_namespace(client, OPERATOR_NAMESPACE)
    kubeconfig = await crds.service_account_kubeconfig(MANAGER_ACCOUNT, tmp_path / "kubeconfig")
    return [
        Operator(kubeconfig, OPERATOR_NAMESPACE, tmp_path / f"{n}.log", leader_elect=False)
        for n in ("first", "second", "third")
    ]


def workload_pod(name: str, namespace: str, dac: str) -> dict[str, Any]:
    """A pod of one whole unit that joins the DAC by what the pod webhook would add (no
    webhook serves the operator process): the label, the node selector and the class."""
    pod = gpu_pod(name, namespace, namespace, labels={DAC_LABEL: label_value(dac)})
    pod["spec"]["nodeSelector"] = {DAC_LABEL: label_value(dac)}
    pod["spec"]["priorityClassName"] = WORKLOAD_CLASS
    return pod


async def forget(client: Client, dac: str) -> None:
    """After a failure with no operator left: the DAC's finalizer and placeholders go."""
    dacs = await client.resource(DEDICATEDAICLUSTER)
    with contextlib.suppress(NotFound):
        await dacs.patch(dac, {"metadata": {"finalizers": None}})
    with contextlib.suppress(NotFound):
        await (await client.resource(DEPLOYMENT)).delete(
            placeholder_name(dac), OPERATOR_NAMESPACE, propagation_policy="Background"
        )


@pytest.mark.timeout(300)
async def test_operator_killed_mid_change_converges_after_restart(
    client: Client,
    namespace: str,
    nodes: Nodes,
    objects: Objects,
    operator_runs: list[Operator],
) -> None:
    """``ome run`` SIGKILLed while a count change is half done, the profile changed while
    it is down: a new process reaches what one uninterrupted run would (placeholders of
    the new shape on every free node, exactly the reserved nodes labelled, ACTIVE with
    the right GPUs); SIGKILLed again and the DAC deleted meanwhile, the next process
    releases the reservation. The workload and what the user wrote stay as they were."""
    profile, dac = f"unit-{namespace}", f"team-{namespace}"
    pods, dacs = await client.resource(POD), await client.resource(DEDICATEDAICLUSTER)
    profiles, node_api = (
        await client.resource(DEDICATEDAICLUSTERPROFILE),
        await client.resource(NODE),
    )
    placeholder_selector = f"{DAC_LABEL}={label_value(dac)},{PLACEHOLDER_LABEL}=true"
    first, second, third = operator_runs

    async def placeholders() -> list[dict[str, Any]]:
        listed = await pods.list(OPERATOR_NAMESPACE, label_selector=placeholder_selector)
        return [p for p in listed if not p["metadata"].get("deletionTimestamp")]

    async def state() -> dict[str, Any]:
        """What convergence is judged on: the status, the placeholders (node, CPU) and
        the DAC label of each of the test's nodes."""
        status = await status_of(client, dac)
        labels = {
            n: ((await node_api.get(n))["metadata"].get("labels") or {}).get(DAC_LABEL)
            for n in nodes.names
        }
        return {
            "state": status.get("dacLifecycleState"),
            "availableGpu": status.get("availableGpu"),
            "allocatedGpu": status.get("allocatedGpu"),
            "nodes": status.get("nodes"),
            "observedGeneration": status.get("observedGeneration"),
            "placeholders": sorted(
                (
                    p["spec"].get("nodeName") or "",
                    p["spec"]["containers"][0]["resources"]["limits"]["cpu"],
                )
                for p in await placeholders()
            ),
            "labels": labels,
        }

    try:
        async with operators(*operator_runs):
            await nodes.add(2)
            unit = {"resources": UNIT, "affinity": {}, "nodeSelector": {"pool": namespace}}
            await objects.make(DEDICATEDAICLUSTERPROFILE, profile, {"count": 1, **unit})
            await objects.make(DEDICATEDAICLUSTER, dac, {"profile": profile, "count": 1})
            first.start()
            await until_state(client, dac, "ACTIVE", availableGpu=8, allocatedGpu=0)

            # a workload takes the unit: no placeholder is wanted any more
            await pods.create(workload_pod("worker", namespace, dac))

            async def worker_running() -> bool:
                phase = (await pod_state(client, "worker", namespace))["status"].get("phase")
                return phase == "Running"

            await eventually(worker_running, timeout=60)
            worker = await pod_state(client, "worker", namespace)
            home = worker["spec"]["nodeName"]
            await until_state(client, dac, "ACTIVE", availableGpu=0, allocatedGpu=8, nodes=[home])

            # three units where two nodes fit only one more: killed while UPDATING, the
            # second placeholder Unschedulable
            await dacs.patch(dac, {"spec": {"count": 3}})
            generation = (await dacs.get(dac))["metadata"]["generation"]
            await until_state(client, dac, "UPDATING", observedGeneration=generation)
            first.kill()
            print(f"killed at {await state()}")

            # while no operator runs: a node appears, and the profile changes
            await nodes.add(1)
            cpu2 = {
                "requests": {**UNIT["requests"], "cpu": "2"},
                "limits": {**UNIT["limits"], "cpu": "2"},
            }
            await profiles.patch(profile, {"spec": {"resources": cpu2}})

            second.start()
            free = sorted(n for n in nodes.names if n != home)
            converged = {
                "state": "ACTIVE",
                "availableGpu": 16,
                "allocatedGpu": 8,
                "nodes": sorted(nodes.names),
                "observedGeneration": generation,
                "placeholders": [(n, "2") for n in free],
                "labels": dict.fromkeys(nodes.names, label_value(dac)),
            }

            async def reached() -> bool:
                assert second.alive(), "the second operator exited"
                return await state() == converged

            try:
                await eventually(reached, timeout=90)
            except AssertionError:
                raise AssertionError(f"not converged: {await state()}") from None

            # nothing the user owns changed: the workload, the specs, the nodes' labels
            assert (await pod_state(client, "worker", namespace))["metadata"]["uid"] == (
                worker["metadata"]["uid"]
            )
            assert (await dacs.get(dac))["spec"] == {"profile": profile, "count": 3}
            assert (await profiles.get(profile))["spec"] == {**unit, "count": 1, "resources": cpu2}
            for name in nodes.names:
                assert (await node_api.get(name))["metadata"]["labels"]["pool"] == namespace
            assert (await dacs.get(dac))["metadata"]["finalizers"] == [FINALIZER]

            # ome status dac shows it: units, state, allocation, the workload on its node
            shown = report(await observe(client, dac), datetime.now(UTC))
            assert "Units:       3 of 1 pod(s), 8 GPU(s) per pod: 24 GPUs" in shown
            assert "State:       ACTIVE" in shown
            assert "GPUs:        16 available, 8 allocated" in shown
            assert f"{namespace}/worker (bare pod): 8 GPU(s) on {home}" in shown

            # deleted while no operator runs: held by the finalizer until one does
            second.kill()
            await dacs.delete(dac)
            assert len(await placeholders()) == 2
            assert (await dacs.get(dac))["metadata"].get("deletionTimestamp")
            third.start()

            async def released() -> bool:
                assert third.alive(), "the third operator exited"
                try:
                    await dacs.get(dac)
                except NotFound:
                    return not await placeholders()
                return False

            await eventually(released, timeout=60)
            for name in nodes.names:
                assert DAC_LABEL not in (await node_api.get(name))["metadata"]["labels"]
            after = await pod_state(client, "worker", namespace)
            assert after["metadata"]["uid"] == worker["metadata"]["uid"]
            assert after["status"]["phase"] == "Running"
            notes = [
                e["note"]
                for e in await events_of(client, "ReservationReleased")
                if e["regarding"]["name"] == dac
            ]
            assert any(f"{namespace}/worker" in n for n in notes), notes
            objects.made = [(k, n) for k, n in objects.made if k != DEDICATEDAICLUSTER]
    finally:
        await forget(client, dac)
