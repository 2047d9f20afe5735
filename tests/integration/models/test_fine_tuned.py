"""FineTunedWeights end to end: three small real PEFT adapters of one base model, served
from a local path, a Hub and an S3 server, become Ready on the node holding the base model
only; an SGLang service and a vLLM service with all three are Ready with the engines'
arguments, read-only mounts, upstream's labels and pods on that node; removing an adapter
from a service rolls it. A weight of a missing base model, a download without
adapter_config.json and a Hub repository that answers 404 fail with their reasons; a
service naming an adapter of another base model is refused with its reason and an Event."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ome.cli.status_ftw import observe, report
from ome.client import GVK, Client, NotFound
from ome.controllers import finetunedweight
from ome.controllers.kinds import (
    BASEMODEL,
    DEPLOYMENT,
    FINETUNEDWEIGHT,
    INFERENCESERVICE,
    NODE,
    POD,
    SECRET,
    SERVINGRUNTIME,
)
from ome.runtime import Manager, ManagerOptions
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT
from tests.integration.agent.fakehub import FakeHub, serve
from tests.integration.agent.s3server import BUCKET, KEYS, s3_server
from tests.integration.controllers.support import running_controller
from tests.integration.helpers import eventually, refused_nothing
from tests.integration.models.support import (
    STATUS_NAMESPACE,
    fake_nodes,
    model_agents,
    model_controller,
    node_labels,
    running,
)
from tests.unit.agent.helpers import MINILM, write_peft_adapter

pytestmark = pytest.mark.integration

PLACE = "models.test/llm"
EVENT = GVK("events.k8s.io", "v1", "Event")
FRAMEWORK = str(json.loads((MINILM / "config.json").read_text())["transformers_version"])


def _base_model(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BaseModel",
        "metadata": {"name": "minilm", "namespace": namespace},
        "spec": {
            "modelFormat": {"name": "safetensors", "version": "1.0.0"},
            "modelFramework": {"name": "transformers", "version": FRAMEWORK},
            "modelArchitecture": "BertModel",
            "storage": {"storageUri": f"local://{MINILM}", "nodeSelector": {PLACE: "yes"}},
        },
    }


def _runtime(namespace: str, name: str, runner: dict[str, Any]) -> dict[str, Any]:
    resources = {"requests": {"cpu": "1", "nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ServingRuntime",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "supportedModelFormats": [
                {
                    "modelFormat": {"name": "safetensors", "version": "1.0.0"},
                    "modelFramework": {"name": "transformers", "version": FRAMEWORK},
                    "modelArchitecture": "BertModel",
                    "autoSelect": True,
                    "priority": 1,
                }
            ],
            "engineConfig": {"runner": {"name": "ome-container", **runner, "resources": resources}},
        },
    }


SGLANG = {
    "image": "docker.io/lmsysorg/sglang:v0.5.5",
    "command": ["python3", "-m", "sglang.launch_server", "--model-path", "$(MODEL_PATH)"],
}
VLLM = {
    "image": "docker.io/vllm/vllm-openai:v0.9.0.1",
    "command": ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "$(MODEL_PATH)"],
}


def _weight(
    name: str, uri: str, namespace: str, base: str = "minilm", **storage: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "FineTunedWeight",
        "metadata": {"name": name},
        "spec": {
            "baseModelRef": {"name": base, "namespace": namespace},
            "modelType": "LoRA",
            "hyperParameters": {"strategy": "lora"},
            "storage": {"storageUri": uri, **storage},
        },
    }


def _merged(name: str, namespace: str) -> dict[str, Any]:
    """Merged weights: a whole model (the real MiniLM stands in for one)."""
    merged = _weight(name, f"local://{MINILM}", namespace)
    merged["spec"]["configuration"] = {"merged_weights": True}
    return merged


def _service(namespace: str, name: str, runtime: str, weights: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"name": "minilm", "kind": "BaseModel", "fineTunedWeights": weights},
            "runtime": {"name": runtime},
            "engine": {"minReplicas": 1, "maxReplicas": 1},
        },
    }


def _condition(obj: dict[str, Any]) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


@contextlib.asynccontextmanager
async def weight_controller(cluster: Cluster) -> AsyncIterator[Manager]:
    """The FineTunedWeight controller, as the operator's ServiceAccount."""
    options = ManagerOptions(
        metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
    )
    with refused_nothing(cluster, MANAGER_ACCOUNT):
        client = await cluster.operator_client()
        manager = Manager(client, options)
        finetunedweight.setup(manager, status_namespace=STATUS_NAMESPACE)
        async with running(manager, client):
            yield manager


def adapter_sources(tmp_path: Path) -> dict[str, Path]:
    """Three adapters of ranks 8, 16 and 32, and a folder of weights without a config."""
    folders = {
        "local": write_peft_adapter(tmp_path / "adapters" / "sql", rank=8),
        "hub": write_peft_adapter(tmp_path / "adapters" / "chat", rank=16),
        "s3": write_peft_adapter(tmp_path / "adapters" / "code", rank=32),
        "broken": write_peft_adapter(tmp_path / "adapters" / "broken"),
    }
    (folders["broken"] / "adapter_config.json").unlink()
    return folders


async def test_three_adapters_are_downloaded_and_served_by_sglang_and_vllm(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    holder, other = f"{namespace}-holder", f"{namespace}-other"
    kinds = ("sql", "chat", "code", "orphan", "broken", "gone", "merged")
    names = {kind: f"{namespace}-{kind}" for kind in kinds}
    weights = await admin.resource(FINETUNEDWEIGHT)
    services = await admin.resource(INFERENCESERVICE)
    secrets = await admin.resource(SECRET)
    hub = FakeHub()
    folders = adapter_sources(tmp_path)
    with s3_server() as s3:
        hub.add_repo("team/chat-lora", folders["hub"])
        s3.upload(folders["s3"], "code-lora")
        async with (
            serve(hub),
            fake_nodes(admin, [holder, other]),
            model_agents(models_cluster, [holder, other], tmp_path, hub_url=hub.url, s3_url=s3.url),
            model_controller(models_cluster),
            weight_controller(models_cluster),
            running_controller(models_cluster, namespace, workers=2),
        ):
            await (await admin.resource(NODE)).patch(
                holder, {"metadata": {"labels": {PLACE: "yes"}}}
            )
            secret_data = {k: base64.b64encode(v.encode()).decode() for k, v in KEYS.items()}
            secret_meta = {"name": names["code"], "namespace": STATUS_NAMESPACE}
            await secrets.create({"metadata": secret_meta, "data": secret_data})
            await (await admin.resource(BASEMODEL)).create(_base_model(namespace))
            runtimes = await admin.resource(SERVINGRUNTIME)
            await runtimes.create(_runtime(namespace, "srt", SGLANG))
            await runtimes.create(_runtime(namespace, "vllm", VLLM))
            created = [
                _weight(names["sql"], f"local://{folders['local']}", namespace),
                _weight(names["chat"], "hf://team/chat-lora", namespace),
                _weight(names["code"], f"s3://{BUCKET}/code-lora", namespace, key=names["code"]),
                _weight(names["broken"], f"local://{folders['broken']}", namespace),
                _weight(names["gone"], "hf://team/no-such-lora", namespace),
                _merged(names["merged"], namespace),
                _weight(names["orphan"], f"local://{folders['local']}", namespace, "missing"),
            ]
            try:
                for weight in created:
                    await weights.create(weight)
                await _check_weights(admin, names, holder, other)
                await _check_services(admin, namespace, names, holder)
                await _check_merged(admin, namespace, names["merged"], holder)
            finally:
                for service in ("lora-sglang", "lora-vllm", "foreign", "merged"):
                    with contextlib.suppress(NotFound):
                        await services.delete(service, namespace)
                for weight in created:
                    with contextlib.suppress(NotFound):
                        await weights.delete(weight["metadata"]["name"])

                async def weights_gone() -> bool:
                    return not any(
                        w["metadata"]["name"] in names.values() for w in await weights.list()
                    )

                await eventually(weights_gone, timeout=60)
                await secrets.delete(names["code"], STATUS_NAMESPACE)


async def _check_weights(admin: Client, names: dict[str, str], holder: str, other: str) -> None:
    weights = await admin.resource(FINETUNEDWEIGHT)
    served = [names["sql"], names["chat"], names["code"]]

    async def all_ready() -> bool:
        found = [await weights.get(name) for name in served]
        return all(_condition(w).get("status") == "True" for w in found)

    await eventually(all_ready, timeout=120)
    for name, rank in zip(served, (8, 16, 32), strict=True):
        weight = await weights.get(name)
        assert weight["status"]["state"] == "Ready"
        assert weight["status"]["nodesReady"] == [holder]
        assert weight["status"]["observedGeneration"] == weight["metadata"]["generation"]
        # what the agent learned: the adapter's rank, and where it put a download
        assert weight["spec"]["configuration"] == {"lora_rank": rank}
        # a local:// weight is read where it is: no path to give
        assert bool(weight["spec"]["storage"].get("path")) is (name != names["sql"])
    text = report(await observe(admin, names["chat"]), datetime.now(UTC))
    assert f"State:       Ready; ready on {holder}" in text
    assert "Weights:     LoRA adapter, rank 16" in text
    labels = await node_labels(admin, holder)
    assert all(labels[f"models.ome.io/finetunedweight.{n}"] == "Ready" for n in served)
    assert not any("finetunedweight" in key for key in await node_labels(admin, other))

    async def failed_with_reasons() -> bool:
        orphan, broken = await weights.get(names["orphan"]), await weights.get(names["broken"])
        gone = await weights.get(names["gone"])
        return (
            _condition(orphan).get("reason") == "BaseModelNotFound"
            and _condition(broken).get("reason") == "DownloadFailed"
            and _condition(gone).get("reason") == "DownloadFailed"
        )

    await eventually(failed_with_reasons, timeout=60)
    gone = _condition(await weights.get(names["gone"]))
    assert "repository team/no-such-lora not found at" in gone["message"]
    assert "(HTTP 404)" in gone["message"]
    broken = _condition(await weights.get(names["broken"]))
    assert f"{holder}: no adapter_config.json" in broken["message"]
    orphan = _condition(await weights.get(names["orphan"]))
    assert "no BaseModel" in orphan["message"]
    assert "missing" in orphan["message"]


async def _check_services(
    admin: Client, namespace: str, names: dict[str, str], holder: str
) -> None:
    services = await admin.resource(INFERENCESERVICE)
    deployments = await admin.resource(DEPLOYMENT)
    pods = await admin.resource(POD)
    served = [names["sql"], names["chat"], names["code"]]
    await services.create(_service(namespace, "lora-sglang", "srt", served))
    await services.create(_service(namespace, "lora-vllm", "vllm", served))

    async def both_ready() -> bool:
        found = [await services.get(n, namespace) for n in ("lora-sglang", "lora-vllm")]
        return all(_condition(s).get("status") == "True" for s in found)

    await eventually(both_ready, timeout=120)
    paths = {n: (await (await admin.resource(FINETUNEDWEIGHT)).get(n))["spec"] for n in served}
    node_paths = {n: spec["storage"].get("path") or "" for n, spec in paths.items()}
    node_paths[names["sql"]] = node_paths[names["sql"]] or str(
        Path(paths[names["sql"]]["storage"]["storageUri"].removeprefix("local://"))
    )
    modules = [f"{n}={node_paths[n]}" for n in served]

    sglang = (await deployments.get("lora-sglang-engine", namespace))["spec"]["template"]
    (container,) = sglang["spec"]["containers"]
    assert container["args"] == ["--lora-paths", *modules, "--max-loras-per-batch", "8"]
    for name in served:
        assert {
            "name": f"ftw-{name}",
            "mountPath": node_paths[name],
            "readOnly": True,
        } in container["volumeMounts"]
        assert sglang["spec"]["nodeSelector"][f"models.ome.io/finetunedweight.{name}"] == "Ready"
    assert sglang["metadata"]["labels"]["fine-tuned-serving"] == "true"
    assert sglang["metadata"]["annotations"]["ome.io/inject-fine-tuned-adapter"] == names["sql"]

    vllm = (await deployments.get("lora-vllm-engine", namespace))["spec"]["template"]
    (container,) = vllm["spec"]["containers"]
    assert container["args"] == [
        "--enable-lora",
        "--lora-modules",
        *modules,
        "--max-loras",
        "3",
        "--max-lora-rank",
        "32",
    ]
    placed = await pods.list(namespace, label_selector="ome.io/inferenceservice")
    assert placed
    assert {p["spec"].get("nodeName") for p in placed} == {holder}

    # removing an adapter rolls the service: the template, then the pods, lose it
    fewer = [names["sql"], names["code"]]
    await services.patch("lora-sglang", {"spec": {"model": {"fineTunedWeights": fewer}}}, namespace)
    expected = ["--lora-paths", modules[0], modules[2], "--max-loras-per-batch", "8"]

    async def rolled() -> bool:
        found = await pods.list(namespace, label_selector="ome.io/inferenceservice=lora-sglang")
        running_args = [p["spec"]["containers"][0].get("args") for p in found]
        service = await services.get("lora-sglang", namespace)
        return running_args == [expected] and _condition(service).get("status") == "True"

    await eventually(rolled, timeout=120)
    template = (await deployments.get("lora-sglang-engine", namespace))["spec"]["template"]
    assert f"models.ome.io/finetunedweight.{names['chat']}" not in template["spec"]["nodeSelector"]
    await _check_foreign_adapter(admin, namespace, names["orphan"])


async def _check_foreign_adapter(admin: Client, namespace: str, foreign: str) -> None:
    """An adapter fine-tuned from another base model: the service says so, with an
    Event, and gets no workload."""
    services = await admin.resource(INFERENCESERVICE)
    await services.create(_service(namespace, "foreign", "srt", [foreign]))

    async def refused() -> bool:
        condition = _condition(await services.get("foreign", namespace))
        return condition.get("reason") == "FineTunedWeightBaseModelMismatch"

    await eventually(refused, timeout=60)
    condition = _condition(await services.get("foreign", namespace))
    assert f"FineTunedWeight '{foreign}' is fine-tuned from" in condition["message"]
    assert f"{namespace}/missing" in condition["message"]
    assert condition["status"] == "False"

    async def announced() -> bool:
        events = await (await admin.resource(EVENT)).list(namespace)
        return any(
            e.get("reason") == "FineTunedWeightBaseModelMismatch"
            and e.get("type") == "Warning"
            and e.get("regarding", {}).get("name") == "foreign"
            for e in events
        )

    await eventually(announced, timeout=30)
    with pytest.raises(NotFound):
        await (await admin.resource(DEPLOYMENT)).get("foreign-engine", namespace)


async def _check_merged(admin: Client, namespace: str, name: str, holder: str) -> None:
    """A merged weight is served as the whole model, by any engine, without the base
    model's mount, on the node holding the weight."""
    services = await admin.resource(INFERENCESERVICE)
    await services.create(_service(namespace, "merged", "srt", [name]))

    async def ready() -> bool:
        return _condition(await services.get("merged", namespace)).get("status") == "True"

    await eventually(ready, timeout=120)
    deployment = await (await admin.resource(DEPLOYMENT)).get("merged-engine", namespace)
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert {"name": "MODEL_PATH", "value": str(MINILM)} in container["env"]
    assert container["volumeMounts"] == [
        {"name": f"ftw-{name}", "mountPath": str(MINILM), "readOnly": True}
    ]
    assert "args" not in container
    assert template["spec"]["nodeSelector"] == {f"models.ome.io/finetunedweight.{name}": "Ready"}
    annotations = template["metadata"]["annotations"]
    assert annotations["ome.io/fine-tuned-serving-with-merged-weights"] == "true"
    assert annotations["ome.io/inject-model-init"] == "false"
    pods = await (await admin.resource(POD)).list(
        namespace, label_selector="ome.io/inferenceservice=merged"
    )
    assert {p["spec"].get("nodeName") for p in pods} == {holder}
