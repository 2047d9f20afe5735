"""Malformed variants of valid ome.io objects: each breaks one rule, and names the field
path that both ``ome validate`` and the API server must report."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

API_VERSION = "ome.io/v1beta1"
REMOVE = object()

VALID: dict[str, dict[str, Any]] = {
    "InferenceService": {
        "metadata": {"name": "llama"},
        "spec": {
            "model": {"name": "llama-3-1-8b-instruct"},
            "runtime": {"name": "srt-llama-3-1-8b-instruct"},
            "engine": {
                "minReplicas": 1,
                "maxReplicas": 1,
                "runner": {
                    "name": "ome-container",
                    "image": "sglang:v0.5",
                    "resources": {"limits": {"nvidia.com/gpu": 1}},
                },
            },
            "router": {"minReplicas": 1, "maxReplicas": 1},
        },
    },
    "ClusterBaseModel": {
        "metadata": {"name": "llama-3-1-8b-instruct"},
        "spec": {
            "modelFormat": {"name": "safetensors"},
            "storage": {"storageUri": "hf://meta-llama/Llama-3.1-8B", "path": "/raid/llama"},
        },
    },
    "ClusterServingRuntime": {
        "metadata": {"name": "srt-llama"},
        "spec": {
            "supportedModelFormats": [
                {
                    "modelFormat": {"name": "safetensors"},
                    "modelFramework": {"name": "transformers"},
                    "autoSelect": True,
                    "priority": 1,
                }
            ],
            "engineConfig": {"runner": {"name": "ome-container", "image": "sglang:v0.5"}},
        },
    },
    "BenchmarkJob": {
        "metadata": {"name": "bench"},
        "spec": {
            "endpoint": {"inferenceService": {"name": "llama", "namespace": "llama"}},
            "task": "text-to-text",
            "numConcurrency": [1, 2],
            "maxTimePerIteration": 15,
            "maxRequestsPerIteration": 100,
            "outputLocation": {"storageUri": "oci://n/ns/b/bucket/o/results"},
        },
    },
    "AcceleratorClass": {
        "metadata": {"name": "h100"},
        "spec": {
            "discovery": {"nodeSelector": {"nvidia.com/gpu.product": "H100"}},
            "capabilities": {"memoryGB": "80Gi"},
        },
    },
    "FineTunedWeight": {
        "metadata": {"name": "adapter"},
        "spec": {
            "baseModelRef": {"name": "llama-3-1-8b-instruct"},
            "modelType": "LoRA",
            "hyperParameters": {"strategy": "lora"},
            "storage": {"storageUri": "oci://n/ns/b/bucket/o/adapter"},
        },
    },
}


@dataclass(frozen=True)
class Variant:
    id: str
    kind: str
    changes: tuple[tuple[str, Any], ...]
    path: str

    @property
    def document(self) -> dict[str, Any]:
        document = copy.deepcopy(VALID[self.kind])
        document.update(apiVersion=API_VERSION, kind=self.kind)
        for dotted, value in self.changes:
            *parents, last = _keys(dotted)
            target = document
            for key in parents:
                target = target[key]
            if value is REMOVE:
                del target[last]
            else:
                target[last] = value
        return document


def _keys(dotted: str) -> list[Any]:
    return [int(k) if k.isdigit() else k for k in dotted.split(".")]


def variant(id: str, kind: str, path: str, value: Any, *more: tuple[str, Any]) -> Variant:
    """Set ``path`` (dotted, list indexes as numbers) to ``value`` (REMOVE deletes it)."""
    reported = ".".join(f"[{k}]" if k.isdigit() else k for k in path.split(".")).replace(".[", "[")
    return Variant(id, kind, ((path, value), *more), reported)


VARIANTS = [
    variant("negative-min-replicas", "InferenceService", "spec.engine.minReplicas", -1),
    variant("negative-max-replicas", "InferenceService", "spec.router.maxReplicas", -2),
    variant("replicas-as-text", "InferenceService", "spec.engine.maxReplicas", "two"),
    variant("negative-worker-size", "InferenceService", "spec.engine.worker", {"size": -1}),
    variant("bad-scale-metric", "InferenceService", "spec.engine.scaleMetric", "gpu"),
    variant(
        "bad-selector-policy", "InferenceService", "spec.acceleratorSelector", {"policy": "Fastest"}
    ),
    variant("model-without-name", "InferenceService", "spec.model.name", REMOVE),
    variant("image-as-number", "InferenceService", "spec.engine.runner.image", 42),
    variant(
        "bad-quantity", "InferenceService", "spec.engine.runner.resources.limits", {"cpu": "lots"}
    ),
    variant("float-min-available", "InferenceService", "spec.engine.minAvailable", 1.5),
    variant(
        "container-without-name", "InferenceService", "spec.engine.containers", [{"image": "x"}]
    ),
    variant("label-value-not-text", "InferenceService", "spec.engine.labels", {"tier": 1}),
    variant("weights-not-a-list", "InferenceService", "spec.model.fineTunedWeights", "lora-1"),
    variant("uppercase-name", "InferenceService", "metadata.name", "Llama_3"),
    variant("name-too-long", "InferenceService", "metadata.name", "a" * 254),
    variant("bad-label-key", "InferenceService", "metadata.labels", {"not a key": "x"}),
    variant(
        "keda-bad-auth-kind",
        "InferenceService",
        "spec.kedaConfig",
        {"authenticationRef": {"name": "auth", "kind": "Secret"}},
    ),
    variant("storage-without-uri", "ClusterBaseModel", "spec.storage.storageUri", REMOVE),
    variant("bad-download-policy", "ClusterBaseModel", "spec.storage.downloadPolicy", "Sometimes"),
    variant("weight-as-text", "ClusterBaseModel", "spec.modelFormat.weight", "heavy"),
    variant("max-tokens-as-bool", "ClusterBaseModel", "spec.maxTokens", True),
    variant("model-without-storage", "ClusterBaseModel", "spec.storage", REMOVE),
    variant("priority-zero", "ClusterServingRuntime", "spec.supportedModelFormats.0.priority", 0),
    variant(
        "format-without-framework",
        "ClusterServingRuntime",
        "spec.supportedModelFormats.0.modelFramework",
        REMOVE,
    ),
    variant("disabled-as-text", "ClusterServingRuntime", "spec.disabled", "yes"),
    variant("bad-task", "BenchmarkJob", "spec.task", "chat"),
    variant(
        "endpoint-not-http",
        "BenchmarkJob",
        "spec.endpoint",
        {"endpoint": {"url": "ftp://host/v1", "apiFormat": "openai"}},
    ),
    variant("missing-time-budget", "BenchmarkJob", "spec.maxTimePerIteration", REMOVE),
    variant("duplicate-concurrency", "BenchmarkJob", "spec.numConcurrency", [4, 4]),
    variant("accelerator-without-discovery", "AcceleratorClass", "spec.discovery", REMOVE),
    variant("bad-memory-quantity", "AcceleratorClass", "spec.capabilities.memoryGB", "80 gigs"),
    variant("weights-without-hyperparameters", "FineTunedWeight", "spec.hyperParameters", REMOVE),
]
