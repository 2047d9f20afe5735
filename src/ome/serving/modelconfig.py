"""The ``modelconfig-{name}`` ConfigMap (upstream ``reconcilers/modelconfig``): the served
model's storage and format under ``models.json``, byte for byte as upstream writes it.
OME mounts it nowhere; it documents the model for tools in the namespace."""

from __future__ import annotations

import json
from typing import Any

from ome.api.v1beta1 import FineTunedWeight, InferenceService, StorageSpec
from ome.serving.catalog import Model, name_of, service_namespace
from ome.serving.components import Spec
from ome.serving.metadata import INFERENCESERVICE_LABEL
from ome.serving.naming import modelconfig_name

MODELS_KEY = "models.json"
# Go's encoder escapes these for HTML safety.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def model_entry(model: Model, weight: FineTunedWeight | None = None) -> dict[str, Any]:
    """One ``models.json`` entry, with upstream's field order and omissions; a served
    fine-tuned weight (upstream records the first) adds its storage and type."""
    spec = model.spec
    facts = {
        **_storage_facts(model.spec.storage),
        "modelFormatName": spec.model_format.name if spec.model_format else "",
        "modelFormatVersion": spec.model_format.version if spec.model_format else None,
        "modelType": spec.model_type,
        "modelFrameworkName": spec.model_framework.name if spec.model_framework else None,
        "modelFrameworkVersion": spec.model_framework.version if spec.model_framework else None,
    }
    entry: dict[str, Any] = {"modelName": name_of(model), "modelSpec": _omit_empty(facts)}
    if weight is not None:
        weight_facts = {**_storage_facts(weight.spec.storage), "modelType": weight.spec.model_type}
        entry["fineTunedWeightSpec"] = _omit_empty(weight_facts)
    return entry


def _storage_facts(storage: StorageSpec) -> dict[str, Any]:
    return {
        "storageUri": storage.storage_uri,
        "path": storage.path,
        "schemaPath": storage.schema_path,
        "parameters": dict(sorted(storage.parameters.items())) if storage.parameters else None,
        "storageKey": storage.key,
    }


def _omit_empty(facts: dict[str, Any]) -> dict[str, Any]:
    # Go's omitempty drops nil pointers and empty maps, but keeps a pointer to ""
    return {k: v for k, v in facts.items() if v is not None and v != {}}


def modelconfig(
    service: InferenceService, model: Model, weight: FineTunedWeight | None = None
) -> Spec:
    entries = [model_entry(model, weight)]
    document = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": modelconfig_name(name_of(service)),
            "namespace": service_namespace(service),
            "labels": {INFERENCESERVICE_LABEL: name_of(service)},
        },
        "data": {MODELS_KEY: document.translate(_GO_ESCAPES)},
    }
