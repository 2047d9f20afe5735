"""Small catalogues for the serving tests: models, runtimes and services from a few facts."""

from __future__ import annotations

from typing import Any

from ome.api.v1beta1 import (
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    InferenceService,
    ServingRuntime,
)
from ome.serving import MemoryCatalog, ServingConfig, ServingPlan, plan_service

NAMESPACE = "team"
RUNNER = {
    "name": "ome-container",
    "image": "sglang:1",
    "args": ["--model-path", "$(MODEL_PATH)"],
    "ports": [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}],
    "resources": {"limits": {"nvidia.com/gpu": 2}, "requests": {"nvidia.com/gpu": 2}},
}
ROUTER_RUNNER = {"name": "router", "image": "router:1", "ports": [{"containerPort": 8000}]}


def model_spec(**facts: Any) -> dict[str, Any]:
    """A llama-like model; ``facts`` replace or (with None) remove fields."""
    spec: dict[str, Any] = {
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelFramework": {"name": "transformers", "version": "4.42.3"},
        "modelArchitecture": "LlamaForCausalLM",
        "modelParameterSize": "8B",
        "vendor": "meta",
        "storage": {"storageUri": "hf://meta/llama", "path": "/raid/models/llama"},
    }
    spec.update(facts)
    return {k: v for k, v in spec.items() if v is not None}


def cluster_model(name: str = "llama", **facts: Any) -> ClusterBaseModel:
    return ClusterBaseModel.model_validate(
        {"metadata": {"name": name}, "spec": model_spec(**facts)}
    )


def namespaced_model(name: str = "llama", namespace: str = NAMESPACE, **facts: Any) -> BaseModel:
    metadata = {"name": name, "namespace": namespace}
    return BaseModel.model_validate({"metadata": metadata, "spec": model_spec(**facts)})


def format_entry(**facts: Any) -> dict[str, Any]:
    """A supported-format entry matching :func:`model_spec`'s defaults."""
    entry: dict[str, Any] = {
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelFramework": {"name": "transformers", "version": "4.42.3"},
        "modelArchitecture": "LlamaForCausalLM",
        "autoSelect": True,
    }
    entry.update(facts)
    return {k: v for k, v in entry.items() if v is not None}


def runtime_spec(*formats: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "supportedModelFormats": list(formats) or [format_entry()],
        "modelSizeRange": {"min": "7B", "max": "9B"},
        "engineConfig": {"runner": dict(RUNNER)},
        "routerConfig": {"runner": dict(ROUTER_RUNNER)},
    }
    spec.update(fields)
    return {k: v for k, v in spec.items() if v is not None}


def cluster_runtime(name: str, *formats: dict[str, Any], **fields: Any) -> ClusterServingRuntime:
    document = {"metadata": {"name": name}, "spec": runtime_spec(*formats, **fields)}
    return ClusterServingRuntime.model_validate(document)


def namespaced_runtime(name: str, *formats: dict[str, Any], **fields: Any) -> ServingRuntime:
    document = {
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": runtime_spec(*formats, **fields),
    }
    return ServingRuntime.model_validate(document)


def service(
    name: str = "chat",
    *,
    runtime: str | None = None,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> InferenceService:
    """A service of model ``llama`` with an engine (override with ``engine=...``)."""
    body: dict[str, Any] = {"model": {"name": "llama"}, "engine": {"minReplicas": 1}}
    if runtime:
        body["runtime"] = {"name": runtime}
    body.update(spec)
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if annotations:
        metadata["annotations"] = annotations
    if labels:
        metadata["labels"] = labels
    body = {k: v for k, v in body.items() if v is not None}
    return InferenceService.model_validate({"metadata": metadata, "spec": body})


def catalog(*objects: Any) -> MemoryCatalog:
    return MemoryCatalog.of(objects)


def plan(
    svc: InferenceService | None = None,
    *objects: Any,
    config: ServingConfig | None = None,
) -> ServingPlan:
    """The plan of ``svc`` against ``objects`` (default: the llama model and one runtime)."""
    objects = objects or (cluster_model(), cluster_runtime("srt-llama"))
    return plan_service(svc or service(), catalog(*objects), config or ServingConfig())


ENGINE_ONLY = [
    ("ConfigMap", "modelconfig-chat"),
    ("Deployment", "chat-engine"),
    ("Service", "chat-engine"),
    ("HorizontalPodAutoscaler", "chat-engine"),
    ("PodDisruptionBudget", "chat-engine"),
    ("Service", "chat"),
]
"""What a service named chat with only an engine gets, in apply order."""


def kinds_and_names(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(objects, kind) if o["metadata"]["name"] == name]
    return found
