"""The webhooks in-process against the real API server, which calls them over HTTPS at
``https://127.0.0.1:PORT`` with the CA the server injected: defaults appear on create,
malformed and unservable InferenceServices are refused naming their field, conflicting
runtime priorities are refused, and with the server down writes fail closed.

Webhook configurations are cluster-wide and the control plane is shared by the session,
so each test's configurations match only its own namespace (namespaceSelector) and
objects carrying its label (objectSelector, which also confines the cluster-scoped
runtime hook), and are deleted when the test ends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import importlib
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from ome.client import GVK, ApiError, Client, NotFound
from ome.controllers.kinds import (
    BASEMODEL,
    CLUSTERSERVINGRUNTIME,
    FINETUNEDWEIGHT,
    INFERENCESERVICE,
    POD,
)
from ome.runtime import Manager, ManagerOptions
from ome.testing.pytest_plugin import Cluster
from ome.webhooks import CERT_MANAGER_ANNOTATION, SECRET_NAME, Webhooks, setup
from ome.webhooks.certificates import generate
from ome.webhooks.configuration import webhook_configurations
from ome.webhooks.provision import (
    MUTATING,
    SECRET,
    SERVICE,
    SERVICE_NAME,
    VALIDATING,
    inject_ca_bundle,
    shared_certificate,
    write_files,
)
from tests.compat.malformed import API_VERSION, VALID, VARIANTS
from tests.compat.rdma import with_upstream_rdma
from tests.compat.reference import CONFIG, needs_reference
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
LABEL = "ome.io/webhook-test"
ISVC_VARIANTS = [v for v in VARIANTS if v.kind == "InferenceService"]
RUNNER = {"name": "ome-container", "image": "sglang:1"}
# the module (the package exports its function of the same name)
webhook_setup = importlib.import_module("ome.webhooks.setup")
VALIDATOR = 'admission webhook "inferenceservice.ome-webhook-server.validator" denied the request'


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def crds(cluster: Cluster) -> list[str]:
    return await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def names(namespace: str) -> tuple[str, str]:
    return f"{namespace}-mutating", f"{namespace}-validating"


def selectors(namespace: str) -> dict[str, Any]:
    return {
        "namespace_selector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "object_selector": {"matchLabels": {LABEL: namespace}},
    }


async def delete_configurations(client: Client, namespace: str) -> None:
    for gvk, name in zip((MUTATING, VALIDATING), names(namespace), strict=True):
        with contextlib.suppress(NotFound):
            await (await client.resource(gvk)).delete(name)


@contextlib.asynccontextmanager
async def running_webhooks(
    cluster: Cluster, namespace: str, **options: Any
) -> AsyncIterator[tuple[Webhooks, asyncio.Task[None]]]:
    """A manager serving the webhooks on a free loopback port, with its configurations
    installed for ``namespace`` only; the configurations are deleted on exit."""
    port = free_port()
    manager = Manager(
        await cluster.client(),
        ManagerOptions(
            metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
        ),
    )
    mutating, validating = names(namespace)
    arguments: dict[str, Any] = {
        "address": f"127.0.0.1:{port}",
        "url": f"https://127.0.0.1:{port}",
        "secret_namespace": namespace,
        "mutating_name": mutating,
        "validating_name": validating,
        "install": True,
        "config_namespace": namespace,
        **selectors(namespace),
    }
    arguments.update(options)
    webhooks = setup(manager, **arguments)
    task = asyncio.create_task(manager.run())
    try:

        async def started() -> bool:
            if task.done():
                task.result()
            return webhooks.server.started

        await eventually(started, timeout=60)
        async with await cluster.client() as admin:
            await eventually(lambda: webhooks_called(admin, namespace), timeout=60)
        yield webhooks, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with await cluster.client() as admin:
            await delete_configurations(admin, namespace)


async def webhooks_called(client: Client, namespace: str) -> bool:
    """Whether the API server calls both configurations' webhooks yet (it learns of new
    configurations a moment after they are written)."""
    probe = service(namespace, "probe", model=None)
    try:
        mutated = await create(client, probe, dry_run=True)
    except ApiError:
        return False
    if "ome.io/deploymentMode" not in (mutated["metadata"].get("annotations") or {}):
        return False
    try:
        await create(client, service(namespace, "probe.dotted", model=None), dry_run=True)
    except ApiError as err:
        return VALIDATOR in err.message
    return False


@pytest_asyncio.fixture(loop_scope="session")
async def webhooks(
    cluster: Cluster, crds: list[str], namespace: str
) -> AsyncIterator[tuple[Webhooks, asyncio.Task[None]]]:
    async with running_webhooks(cluster, namespace) as running:
        yield running


def labelled(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    metadata = obj.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), LABEL: namespace}
    return obj


def model(namespace: str, name: str = "llama", **spec: Any) -> dict[str, Any]:
    return labelled(
        {
            "apiVersion": API_VERSION,
            "kind": "BaseModel",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "modelFormat": {"name": f"format-{namespace}", "version": "1.0.0"},
                "modelFramework": {"name": "transformers", "version": "4.42.3"},
                "modelParameterSize": "8B",
                "storage": {"storageUri": "hf://meta/llama", "path": "/raid/llama"},
                **spec,
            },
        },
        namespace,
    )


def runtime(namespace: str, name: str, kind: str, **entry: Any) -> dict[str, Any]:
    """A runtime for :func:`model`'s format, unique to the test (no conflict with the
    cluster runtimes of other tests)."""
    metadata: dict[str, Any] = {"name": name}
    if kind == "ServingRuntime":
        metadata["namespace"] = namespace
    return labelled(
        {
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": metadata,
            "spec": {
                "protocolVersions": ["openAI"],
                "modelSizeRange": {"min": "7B", "max": "9B"},
                "supportedModelFormats": [
                    {
                        "name": f"format-{namespace}",
                        "modelFormat": {"name": f"format-{namespace}", "version": "1.0.0"},
                        "modelFramework": {"name": "transformers", "version": "4.42.3"},
                        "autoSelect": True,
                        "priority": 1,
                        **entry,
                    }
                ],
                "engineConfig": {"runner": dict(RUNNER)},
            },
        },
        namespace,
    )


def service(namespace: str, name: str = "chat", **spec: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"name": "llama", "kind": "BaseModel"},
            "engine": {"runner": dict(RUNNER)},
            "router": {"config": {"policy": "round_robin"}},
        },
    }
    document["spec"].update(spec)
    document["spec"] = {k: v for k, v in document["spec"].items() if v is not None}
    return labelled(document, namespace)


async def create(client: Client, obj: dict[str, Any], *, dry_run: bool = False) -> Any:
    gvk = GVK.parse(obj["apiVersion"], obj["kind"])
    return await (await client.resource(gvk)).create(obj, dry_run=dry_run)


async def refusal(create_call: Awaitable[Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await create_call
    return caught.value


def names_field(error: ApiError, field: str) -> bool:
    return field in error.message or any(f.startswith(field) for f, _ in error.causes)


async def test_defaults_are_applied_on_create(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create(client, model(namespace))
    created = await create(client, service(namespace))
    assert created["metadata"]["annotations"]["ome.io/deploymentMode"] == "RawDeployment"
    engine, router = created["spec"]["engine"], created["spec"]["router"]
    assert (engine["minReplicas"], engine["maxReplicas"]) == (1, 3)
    assert (router["minReplicas"], router["maxReplicas"]) == (1, 2)
    assert router["config"] == {"policy": "round_robin"}
    assert engine["runner"] == RUNNER
    pd = await create(client, service(namespace, "pd", decoder={"runner": dict(RUNNER)}))
    assert pd["metadata"]["annotations"]["ome.io/deploymentMode"] == "PDDisaggregated"
    assert (pd["spec"]["decoder"]["minReplicas"], pd["spec"]["decoder"]["maxReplicas"]) == (1, 3)


async def test_updates_check_references_only_when_the_spec_changes(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create(client, model(namespace))
    await create(client, service(namespace))
    await (await client.resource(BASEMODEL)).delete("llama", namespace)
    services = await client.resource(INFERENCESERVICE)
    # the whole stored object (managedFields, defaults, ...) goes through validation
    finalized = {"metadata": {"finalizers": ["inferenceservice.finalizers"]}}
    await services.patch("chat", finalized, namespace)
    error = await refusal(
        services.patch("chat", {"spec": {"engine": {"minReplicas": 2}}}, namespace)
    )
    assert "spec.model.name" in error.message
    await services.patch("chat", {"metadata": {"finalizers": None}}, namespace)


async def test_the_certificate_is_shared_through_the_secret_and_injected(
    client: Client, namespace: str, webhooks: Any
) -> None:
    secret = await (await client.resource(SECRET)).get(SECRET_NAME, namespace)
    assert secret["type"] == "kubernetes.io/tls"
    ca = secret["data"]["ca.crt"]
    for gvk, name in zip((MUTATING, VALIDATING), names(namespace), strict=True):
        configuration = await (await client.resource(gvk)).get(name)
        assert {w["clientConfig"]["caBundle"] for w in configuration["webhooks"]} == {ca}
    served, _ = webhooks
    assert base64.b64decode(secret["data"]["tls.crt"]) == served.server.cert_file.read_bytes()


async def test_the_secret_is_owned_by_the_webhook_service_so_it_goes_with_the_install(
    client: Client, namespace: str
) -> None:
    services = await client.resource(SERVICE)
    secrets = await client.resource(SECRET)
    # made by a version without owners, of the type the install's manifests never set
    await shared_certificate(client, namespace, "owned-cert", ["127.0.0.1"])
    assert not (await secrets.get("owned-cert", namespace))["metadata"].get("ownerReferences")
    service = await services.create(
        {
            "metadata": {"name": SERVICE_NAME, "namespace": namespace},
            "spec": {"ports": [{"port": 443, "targetPort": 9443}]},
        }
    )
    bundle = await shared_certificate(client, namespace, "owned-cert", ["127.0.0.1"])
    owned = await secrets.get("owned-cert", namespace)
    assert [(o["kind"], o["uid"]) for o in owned["metadata"]["ownerReferences"]] == [
        ("Service", service["metadata"]["uid"])
    ]
    assert base64.b64decode(owned["data"]["tls.crt"]) == bundle.cert  # kept, not renewed
    await services.delete(SERVICE_NAME, namespace)


async def test_a_second_replica_serves_the_same_certificate(
    cluster: Cluster, client: Client, namespace: str, webhooks: Any
) -> None:
    first, _ = webhooks
    second = Manager(
        await cluster.client(),
        ManagerOptions(
            metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
        ),
    )
    mutating, validating = names(namespace)
    port = free_port()
    replica = setup(
        second,
        address=f"127.0.0.1:{port}",
        url=f"https://127.0.0.1:{port}",
        secret_namespace=namespace,
        mutating_name=mutating,
        validating_name=validating,
    )
    task = asyncio.create_task(second.run())
    try:
        await eventually(lambda: _true(replica.server.started), timeout=60)
        assert replica.server.cert_file.read_bytes() == first.server.cert_file.read_bytes()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_certificate_rotated_in_the_secret_is_followed_without_a_restart(
    client: Client, namespace: str, webhooks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica (or an administrator) replaces the shared certificate and points
    the configurations at its CA: this replica serves the new one within seconds, not at
    its next hourly check, during which the API server would refuse its old one."""
    served, _ = webhooks
    monkeypatch.setattr(webhook_setup, "RELOAD", 0.5)
    rotated = generate(served.hosts)
    secrets = await client.resource(SECRET)
    current = await secrets.get(SECRET_NAME, namespace)
    current["data"] = {k: base64.b64encode(v).decode() for k, v in rotated.files().items()}
    await secrets.update(current)
    for gvk, name in zip((MUTATING, VALIDATING), names(namespace), strict=True):
        assert await inject_ca_bundle(client, gvk, name, rotated.ca)

    async def following() -> bool:
        return served.server.cert_file.read_bytes() == rotated.cert and await webhooks_called(
            client, namespace
        )

    await eventually(following, timeout=60)


async def _true(value: bool) -> bool:
    return value


@pytest.mark.parametrize("variant", ISVC_VARIANTS, ids=[v.id for v in ISVC_VARIANTS])
async def test_malformed_inference_services_are_refused_naming_the_field(
    client: Client, namespace: str, webhooks: Any, variant: Any
) -> None:
    await create(client, model(namespace))
    document = labelled(variant.document, namespace)
    document["metadata"]["namespace"] = namespace
    reference = document["spec"]["model"]
    if isinstance(reference, dict):
        reference["kind"] = "BaseModel"
        if "name" in reference:
            reference["name"] = "llama"
    error = await refusal(create(client, document))
    assert names_field(error, variant.path), error.message


async def test_the_valid_sample_is_admitted(client: Client, namespace: str, webhooks: Any) -> None:
    await create(client, model(namespace))
    sample = labelled({**VALID["InferenceService"], "apiVersion": API_VERSION}, namespace)
    sample["kind"] = "InferenceService"
    sample["metadata"]["namespace"] = namespace
    sample["spec"]["model"] = {"name": "llama", "kind": "BaseModel"}
    created = await create(client, sample)
    assert created["metadata"]["annotations"]["ome.io/deploymentMode"] == "RawDeployment"


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ({"name": "chat.v1"}, "metadata.name"),
        ({"spec": {"engine": None, "decoder": {"runner": RUNNER}}}, "spec.decoder"),
        ({"spec": {"model": {"name": "missing", "kind": "BaseModel"}}}, "spec.model.name"),
        ({"spec": {"engine": {}}}, "spec.runtime"),
        (
            {"annotations": {"ome.io/autoscalerClass": "vpa"}},
            "metadata.annotations[ome.io/autoscalerClass]",
        ),
        (
            {"annotations": {"ome.io/targetUtilizationPercentage": "0"}},
            "metadata.annotations[ome.io/targetUtilizationPercentage]",
        ),
        (
            {
                "annotations": {"ome.io/autoscalerClass": "keda"},
                "spec": {"kedaConfig": {"scalingOperator": "Equal"}},
            },
            "spec.kedaConfig.scalingOperator",
        ),
        (
            {
                "annotations": {
                    "ome.io/autoscalerClass": "keda",
                    "autoscaling.keda.sh/prometheus.serverAddress": "prometheus:9090",
                },
            },
            "metadata.annotations[autoscaling.keda.sh/prometheus.serverAddress]",
        ),
        (
            {"spec": {"engine": {"runner": RUNNER, "canaryTrafficPercent": 120}}},
            "spec.engine.canaryTrafficPercent",
        ),
    ],
    ids=["dotted-name", "decoder-without-engine", "unknown-model", "no-runtime", "autoscaler",
         "utilization", "keda-operator", "keda-server", "canary-percent"],
)  # fmt: skip
async def test_unservable_inference_services_are_refused_by_the_webhook(
    client: Client, namespace: str, webhooks: Any, case: dict[str, Any], field: str
) -> None:
    await create(client, model(namespace))
    document = service(namespace, case.get("name", "chat"), **case.get("spec", {}))
    document["metadata"]["annotations"] = case.get("annotations", {})
    error = await refusal(create(client, document))
    assert VALIDATOR in error.message
    assert field in error.message
    assert any(f == field for f, _ in error.causes)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (
            {"spec": {"engine": {"minReplicas": 2, "canaryTrafficPercent": -5}}},
            "spec.engine.canaryTrafficPercent",
        ),
        (
            {
                "metadata": {
                    "annotations": {
                        "ome.io/autoscalerClass": "keda",
                        "autoscaling.keda.sh/operator": "Equal",
                    }
                },
                "spec": {"engine": {"minReplicas": 2}},
            },
            "metadata.annotations[autoscaling.keda.sh/operator]",
        ),
        (
            {
                "metadata": {"annotations": {"ome.io/autoscalerClass": "keda"}},
                "spec": {
                    "engine": {"minReplicas": 2},
                    "kedaConfig": {"promServerAddress": "prometheus.monitoring:9090"},
                },
            },
            "spec.kedaConfig.promServerAddress",
        ),
    ],
    ids=["canary-percent", "keda-operator", "keda-server"],
)
async def test_a_refused_update_leaves_the_stored_service_untouched(
    client: Client, namespace: str, webhooks: Any, patch: dict[str, Any], field: str
) -> None:
    """A bad field next to a good one: the whole write is refused naming the bad field,
    and the stored object keeps its version (nothing half-applied)."""
    await create(client, model(namespace))
    stored = await create(client, service(namespace))
    services = await client.resource(INFERENCESERVICE)
    error = await refusal(services.patch("chat", patch, namespace))
    assert VALIDATOR in error.message
    assert any(f == field for f, _ in error.causes), error.message
    current = await services.get("chat", namespace)
    assert current["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert current["spec"]["engine"]["minReplicas"] == stored["spec"]["engine"]["minReplicas"]


async def test_a_runtime_can_be_auto_selected_once_it_exists(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create(client, model(namespace))
    await create(client, runtime(namespace, "srt", "ServingRuntime"))
    selectable = service(namespace, engine={})

    async def admitted() -> bool:
        try:
            await create(client, selectable, dry_run=True)
        except ApiError:
            return False
        return True

    await eventually(admitted, timeout=30)  # once the webhook's cache has the runtime
    created = await create(client, selectable)
    assert created["spec"]["engine"] == {"minReplicas": 1, "maxReplicas": 3}


async def denied_once_cached(client: Client, obj: dict[str, Any]) -> ApiError:
    """The refusal of ``obj``, waiting (with dry runs) for the webhook's cache to hold
    what it conflicts with."""
    found: list[ApiError] = []

    async def refused() -> bool:
        try:
            await create(client, obj, dry_run=True)
        except ApiError as err:
            found.append(err)
            return True
        return False

    await eventually(refused, timeout=30)
    return found[-1]


async def test_conflicting_runtime_priorities_are_refused(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create(client, runtime(namespace, "first", "ServingRuntime"))
    error = await denied_once_cached(client, runtime(namespace, "second", "ServingRuntime"))
    assert "servingruntime.ome-webhook-server.validator" in error.message
    assert "same priority assigned for the model format" in error.message
    assert "spec.supportedModelFormats[0].priority" in error.message
    await refusal(create(client, runtime(namespace, "second", "ServingRuntime")))
    await create(client, runtime(namespace, "second", "ServingRuntime", priority=2))

    first, second = f"{namespace}-first", f"{namespace}-second"
    cluster_runtimes = await client.resource(CLUSTERSERVINGRUNTIME)
    try:
        await create(client, runtime(namespace, first, "ClusterServingRuntime"))
        error = await denied_once_cached(
            client, runtime(namespace, second, "ClusterServingRuntime")
        )
        assert "clusterservingruntime.ome-webhook-server.validator" in error.message
        assert f"in the clusterservingruntimes {first} and {second}" in error.message
        disabled = runtime(namespace, second, "ClusterServingRuntime")
        disabled["spec"]["disabled"] = True
        await create(client, disabled)
    finally:
        for name in (first, second):
            with contextlib.suppress(NotFound):
                await cluster_runtimes.delete(name)


async def test_a_server_that_is_down_fails_writes_closed(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create(client, model(namespace))
    await create(client, service(namespace, "before"))
    _, task = webhooks
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    error = await refusal(create(client, service(namespace, "after")))
    assert "failed calling webhook" in error.message
    services = await client.resource(INFERENCESERVICE)
    with pytest.raises(NotFound):
        await services.get("after", namespace)


async def test_a_local_run_removes_its_configurations_on_exit(
    cluster: Cluster, client: Client, crds: list[str], namespace: str
) -> None:
    async with running_webhooks(cluster, namespace, secret_name=None, uninstall_on_exit=True) as (
        served,
        task,
    ):
        await create(client, model(namespace))
        await create(client, service(namespace))
        private = served.private_dir
        assert private is not None
        assert private.is_dir()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for gvk, name in zip((MUTATING, VALIDATING), names(namespace), strict=True):
            with pytest.raises(NotFound):
                await (await client.resource(gvk)).get(name)
        assert not private.exists()
        with pytest.raises(NotFound):  # nothing shared: the certificate stayed in memory
            await (await client.resource(SECRET)).get(SECRET_NAME, namespace)

        async def unchecked() -> bool:  # once the API server has dropped the webhooks
            try:
                await create(client, service(namespace, "unchecked"), dry_run=True)
            except ApiError:
                return False
            return True

        await eventually(unchecked, timeout=30)


async def test_with_cert_manager_nothing_is_generated_or_injected(
    cluster: Cluster, client: Client, crds: list[str], namespace: str, tmp_path: Path
) -> None:
    """Configurations annotated for cert-manager get their caBundle from it (here: the
    test) and the server reads the mounted certificate."""
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    bundle = generate(("127.0.0.1",))
    write_files(tmp_path, bundle)
    mutating, validating = names(namespace)
    for configuration in webhook_configurations(
        url=url,
        ca_bundle=bundle.ca,
        mutating_name=mutating,
        validating_name=validating,
        annotations={CERT_MANAGER_ANNOTATION: f"{namespace}/serving-cert"},
        **selectors(namespace),
    ):
        await create(client, configuration)
    try:
        async with running_webhooks(
            cluster, namespace, url=url, address=f"127.0.0.1:{port}", cert_dir=tmp_path,
            install=False,
        ) as (served, _):  # fmt: skip
            assert served.cert_manager is True
            assert served.server.cert_dir == tmp_path
            await create(client, model(namespace))
            created = await create(client, service(namespace))
            assert created["spec"]["engine"]["maxReplicas"] == 3
            with pytest.raises(NotFound):
                await (await client.resource(SECRET)).get(SECRET_NAME, namespace)
    finally:
        await delete_configurations(client, namespace)


def weight(namespace: str, uri: str = "hf://team/sql-lora") -> dict[str, Any]:
    return labelled(
        {
            "apiVersion": API_VERSION,
            "kind": "FineTunedWeight",
            "metadata": {"name": f"{namespace}-sql"},
            "spec": {
                "baseModelRef": {"name": "llama", "namespace": namespace},
                "modelType": "LoRA",
                "hyperParameters": {"strategy": "lora"},
                "storage": {"storageUri": uri},
            },
        },
        namespace,
    )


async def test_a_weight_in_use_cannot_be_deleted_and_a_wrong_scheme_is_refused(
    client: Client, namespace: str, webhooks: Any
) -> None:
    error = await refusal(create(client, weight(namespace, "ftp://host/sql")))
    assert "finetunedweight.ome-webhook-server.validator" in error.message
    assert "spec.storage.storageUri" in error.message
    weights = await client.resource(FINETUNEDWEIGHT)
    name = f"{namespace}-sql"
    await create(client, model(namespace))
    await create(client, weight(namespace))
    try:
        served = service(
            namespace, model={"name": "llama", "kind": "BaseModel", "fineTunedWeights": [name]}
        )
        await create(client, served)
        services = webhooks[0].manager.informer(INFERENCESERVICE).store

        async def cached() -> bool:
            return services.get(f"{namespace}/chat") is not None

        await eventually(cached, timeout=30)
        error = await refusal(weights.delete(name))
        assert f"FineTunedWeight {name} is served by InferenceService {namespace}/chat" in (
            error.message
        )
        await (await client.resource(INFERENCESERVICE)).delete("chat", namespace)

        async def forgotten() -> bool:
            return services.get(f"{namespace}/chat") is None

        await eventually(forgotten, timeout=30)
        await weights.delete(name)
    finally:
        with contextlib.suppress(NotFound, ApiError):
            await weights.delete(name)


def benchmark(namespace: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "endpoint": {"inferenceService": {"name": "chat", "namespace": namespace}},
        "task": "text-to-text",
        "trafficScenarios": ["D(100,100)"],
        "maxTimePerIteration": 15,
        "maxRequestsPerIteration": 100,
        "outputLocation": {"storageUri": "oci://n/ns/b/results/o/run"},
    }
    body.update(spec)
    document = {
        "apiVersion": API_VERSION,
        "kind": "BenchmarkJob",
        "metadata": {"name": "bench", "namespace": namespace},
        "spec": body,
    }
    return labelled(document, namespace)


async def test_bad_benchmarks_are_refused_naming_the_field(
    client: Client, namespace: str, webhooks: Any
) -> None:
    """upstream pkg/webhook/admission/benchmark/benchmark_webhook.go"""
    await create(client, benchmark(namespace), dry_run=True)
    scenario = await refusal(
        create(client, benchmark(namespace, trafficScenarios=["D(100,100)", "Z(1,2)"]))
    )
    assert names_field(scenario, "spec.trafficScenarios[1]"), scenario.message
    endpoint = {
        "inferenceService": {"name": "chat", "namespace": namespace},
        "endpoint": {"url": "http://x", "apiFormat": "openai", "modelName": "m"},
    }
    both = await refusal(create(client, benchmark(namespace, endpoint=endpoint)))
    assert names_field(both, "spec.endpoint"), both.message
    assert "not both" in both.message


# -- the pod webhook ---------------------------------------------------------------

RDMA_RUNTIME = CONFIG / "runtimes" / "srt" / "deepseek-rdma-rt.yaml"
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def rdma_leader(namespace: str, name: str, *, labelled: bool = True) -> dict[str, Any]:
    """A leader pod of upstream's multi-node RDMA runtime, as its LeaderWorkerSet would
    make it from the runtime alone: it mounts /dev/shm and /dev/infiniband without the
    volumes, which the webhook is expected to add."""
    engine = yaml.safe_load(RDMA_RUNTIME.read_text())["spec"]["engineConfig"]
    leader = engine["leader"]
    labels = {LABEL: namespace}
    if labelled:
        labels["ome.io/inferenceservice"] = "deepseek"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": dict(engine["annotations"]),
        },
        "spec": {
            "containers": [leader["runner"]],
            "tolerations": leader["tolerations"],
            "dnsPolicy": leader["dnsPolicy"],
            "hostNetwork": leader["hostNetwork"],
            "automountServiceAccountToken": False,  # no volume with a random name
        },
    }


async def create_pod(client: Client, pod: dict[str, Any], *, dry_run: bool = False) -> Any:
    """Created once the namespace's default ServiceAccount exists (the API server refuses
    pods until the controller manager has made it)."""
    created: list[Any] = []

    async def made() -> bool:
        try:
            created.append(await create(client, pod, dry_run=dry_run))
        except ApiError as err:
            if "serviceaccount" not in err.message:
                raise
            return False
        return True

    await eventually(made, timeout=30)
    return created[0]


def as_written(pod: dict[str, Any], name: str, *, labelled: bool) -> dict[str, Any]:
    """``pod`` as a client would write it again: server fields gone, another name."""
    pod = copy.deepcopy(pod)
    metadata = pod["metadata"]
    for key in SERVER_FIELDS:
        metadata.pop(key, None)
    metadata["name"] = name
    if not labelled:
        del metadata["labels"]["ome.io/inferenceservice"]
    pod.pop("status", None)
    return pod


def comparable(pod: dict[str, Any]) -> dict[str, Any]:
    metadata = {
        k: v for k, v in pod["metadata"].items() if k not in (*SERVER_FIELDS, "name", "labels")
    }
    labels = {k: v for k, v in pod["metadata"]["labels"].items() if k != "ome.io/inferenceservice"}
    return {**pod, "metadata": {**metadata, "labels": labels}, "status": None}


@needs_reference
async def test_rdma_pods_get_exactly_upstreams_additions_and_nothing_twice(
    client: Client, namespace: str, webhooks: Any
) -> None:
    """upstream pkg/webhook/admission/pod/rdma_injector.go and
    metrics_aggregate_injector.go (no inferenceservice-config here: the shipped values)"""
    created = await create_pod(client, rdma_leader(namespace, "leader"))
    # what upstream's webhook would make of it, written without the label (so no webhook
    # call) for the API server to default the same way
    expected = with_upstream_rdma(rdma_leader(namespace, "expected", labelled=False))
    expected["metadata"]["annotations"].update(
        {"ome.io/enable-metric-aggregation": "false", "ome.io/enable-prometheus-scraping": "false"}
    )
    defaulted = await create_pod(client, expected, dry_run=True)
    assert comparable(created) == comparable(defaulted)
    (main,) = created["spec"]["containers"]
    assert {v["name"] for v in created["spec"]["volumes"]} == {"dshm", "devinf"}
    assert sum(e["name"] == "GLOO_SOCKET_IFNAME" for e in main["env"]) == 1
    assert main["securityContext"]["privileged"] is True

    # a pod that already went through the webhook (as on reinvocation) is left as it is
    again = await create_pod(client, as_written(created, "again", labelled=True), dry_run=True)
    assert comparable(again) == comparable(created)


@needs_reference
async def test_pods_without_the_label_are_not_touched(
    client: Client, namespace: str, webhooks: Any
) -> None:
    """upstream config/webhook/manifests.yaml: objectSelector ome.io/inferenceservice"""
    source = with_upstream_rdma(rdma_leader(namespace, "plain", labelled=False))
    plain = await create_pod(client, source)
    assert plain["metadata"]["annotations"] == source["metadata"]["annotations"]
    (main,) = plain["spec"]["containers"]
    names_written = [e["name"] for e in source["spec"]["containers"][0]["env"]]
    assert [e["name"] for e in main["env"]] == names_written
    assert [v["name"] for v in plain["spec"]["volumes"]] == ["dshm", "devinf"]


@needs_reference
async def test_with_the_server_down_only_service_pods_wait(
    client: Client, namespace: str, webhooks: Any
) -> None:
    await create_pod(client, rdma_leader(namespace, "before"), dry_run=True)
    _, task = webhooks
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    outside = with_upstream_rdma(rdma_leader(namespace, "outside", labelled=False))
    await create_pod(client, outside)
    pods = await client.resource(POD)
    assert (await pods.get("outside", namespace))["metadata"]["name"] == "outside"
    error = await refusal(create(client, rdma_leader(namespace, "inside")))
    assert "failed calling webhook" in error.message
    assert "inferenceservice.ome-webhook-server.pod-mutator" in error.message
