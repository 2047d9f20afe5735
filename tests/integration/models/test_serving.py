"""An InferenceService on a model the agents provide: Ready only once the model is Ready
on some node, with its pods only on such nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ome.client import Client
from ome.controllers.kinds import BASEMODEL, INFERENCESERVICE, NODE, POD, SERVINGRUNTIME
from ome.testing.pytest_plugin import Cluster
from tests.integration.controllers.support import running_controller
from tests.integration.helpers import eventually
from tests.integration.models.support import fake_nodes, model_agents, model_controller
from tests.unit.agent.helpers import MINILM

pytestmark = pytest.mark.integration

PLACE = "models.test/embeddings"


def _framework_version() -> str:
    return str(json.loads((MINILM / "config.json").read_text())["transformers_version"])


def _model(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "BaseModel",
        "metadata": {"name": "minilm", "namespace": namespace},
        "spec": {
            "modelFormat": {"name": "safetensors", "version": "1.0.0"},
            "modelFramework": {"name": "transformers", "version": _framework_version()},
            "modelArchitecture": "BertModel",
            "storage": {"storageUri": f"local://{MINILM}", "nodeSelector": {PLACE: "yes"}},
        },
    }


def _runtime(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ServingRuntime",
        "metadata": {"name": "embedder", "namespace": namespace},
        "spec": {
            "supportedModelFormats": [
                {
                    "modelFormat": {"name": "safetensors", "version": "1.0.0"},
                    "modelFramework": {"name": "transformers", "version": _framework_version()},
                    "modelArchitecture": "BertModel",
                    "autoSelect": True,
                    "priority": 1,
                }
            ],
            "engineConfig": {
                "runner": {
                    "name": "ome-container",
                    "image": "registry.example/embedder:1",
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                        "limits": {"nvidia.com/gpu": "1"},
                    },
                }
            },
        },
    }


def _service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "embed", "namespace": namespace},
        "spec": {
            "model": {"name": "minilm", "kind": "BaseModel"},
            "engine": {"minReplicas": 2, "maxReplicas": 2},
        },
    }


def _ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def test_service_is_ready_only_where_and_when_its_model_is(
    models_cluster: Cluster, admin: Client, namespace: str, tmp_path: Path
) -> None:
    nodes = [f"{namespace}-serve-{i}" for i in range(2)]
    services = await admin.resource(INFERENCESERVICE)
    pods = await admin.resource(POD)
    async with (
        fake_nodes(admin, nodes),
        model_agents(models_cluster, nodes, tmp_path),
        model_controller(models_cluster),
        running_controller(models_cluster, namespace, workers=2),
    ):
        await (await admin.resource(SERVINGRUNTIME)).create(_runtime(namespace))
        await (await admin.resource(BASEMODEL)).create(_model(namespace))
        await services.create(_service(namespace))

        # No node is meant to have the model yet: its pods exist but cannot be placed.
        async def pending() -> bool:
            found = await pods.list(namespace, label_selector="ome.io/inferenceservice=embed")
            return len(found) == 2 and all(p["status"].get("phase") == "Pending" for p in found)

        await eventually(pending, timeout=60)
        assert not _ready(await services.get("embed", namespace))
        model = await (await admin.resource(BASEMODEL)).get("minilm", namespace)
        assert model["status"]["state"] == "In_Transit"

        await (await admin.resource(NODE)).patch(nodes[1], {"metadata": {"labels": {PLACE: "yes"}}})

        async def ready() -> bool:
            return _ready(await services.get("embed", namespace))

        await eventually(ready, timeout=90)
        model = await (await admin.resource(BASEMODEL)).get("minilm", namespace)
        assert model["status"]["nodesReady"] == [nodes[1]]
        placed = await pods.list(namespace, label_selector="ome.io/inferenceservice=embed")
        assert {p["spec"].get("nodeName") for p in placed} == {nodes[1]}

        await services.delete("embed", namespace)
        await (await admin.resource(BASEMODEL)).delete("minilm", namespace)

        async def model_gone() -> bool:
            remaining = await (await admin.resource(BASEMODEL)).list(namespace)
            return not remaining

        await eventually(model_gone, timeout=60)
