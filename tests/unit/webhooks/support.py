"""Objects and AdmissionReviews for the webhook tests."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from ome.api.v1beta1 import ClusterBaseModel, ClusterServingRuntime, ServingRuntime
from ome.webhooks.review import Request, parse
from tests.unit.serving.helpers import model_spec

NAMESPACE = "team"
MODEL = "llama"
RUNNER = {"name": "ome-container", "image": "sglang:1"}


def cluster_model(name: str = MODEL, **facts: Any) -> ClusterBaseModel:
    return ClusterBaseModel.model_validate(
        {"metadata": {"name": name}, "spec": model_spec(**facts)}
    )


def format_entry(**facts: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "safetensors",
        "modelFormat": {"name": "safetensors", "version": "1.0.0"},
        "modelFramework": {"name": "transformers", "version": "4.42.3"},
        "modelArchitecture": "LlamaForCausalLM",
        "autoSelect": True,
        "priority": 1,
    }
    entry.update(facts)
    return {k: v for k, v in entry.items() if v is not None}


def runtime_document(
    name: str, *formats: dict[str, Any], kind: str = "ClusterServingRuntime", **fields: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "supportedModelFormats": list(formats) or [format_entry()],
        "modelSizeRange": {"min": "7B", "max": "9B"},
        "protocolVersions": ["openAI"],
        "engineConfig": {"runner": dict(RUNNER)},
    }
    spec.update(fields)
    metadata: dict[str, Any] = {"name": name}
    if kind == "ServingRuntime":
        metadata["namespace"] = NAMESPACE
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": kind,
        "metadata": metadata,
        "spec": {k: v for k, v in spec.items() if v is not None},
    }


def cluster_runtime(name: str, *formats: dict[str, Any], **fields: Any) -> ClusterServingRuntime:
    return ClusterServingRuntime.model_validate(runtime_document(name, *formats, **fields))


def namespaced_runtime(name: str, *formats: dict[str, Any], **fields: Any) -> ServingRuntime:
    document = runtime_document(name, *formats, kind="ServingRuntime", **fields)
    return ServingRuntime.model_validate(document)


def service(name: str = "chat", **spec: Any) -> dict[str, Any]:
    """An InferenceService of model ``llama`` with an engine; ``spec`` replaces fields."""
    document: dict[str, Any] = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"model": {"name": MODEL}, "engine": {}},
    }
    document["spec"].update(copy.deepcopy(spec))
    document["spec"] = {k: v for k, v in document["spec"].items() if v is not None}
    return document


def review_body(
    obj: Any, operation: str = "CREATE", old: Any = None, namespace: str | None = NAMESPACE
) -> bytes:
    kind = obj.get("kind", "") if isinstance(obj, dict) else ""
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "operation": operation,
        "kind": {"group": "ome.io", "version": "v1beta1", "kind": kind},
        "object": obj,
        "oldObject": old,
    }
    if namespace:
        request["namespace"] = namespace
    envelope = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
    return json.dumps({**envelope, "request": request}).encode()


def request(obj: Any, operation: str = "CREATE", old: Any = None) -> Request:
    return parse(review_body(obj, operation, old))
