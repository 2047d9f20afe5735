"""The ``modelconfig-{name}`` ConfigMap (upstream ``reconcilers/modelconfig``): the served
model's storage and format under ``models.json``, byte for byte as upstream writes it.
OME mounts it nowhere; it documents the model for tools in the namespace."""

from __future__ import annotations

import json
from typing import Any

from ome.api.v1beta1 import InferenceService
from ome.serving.catalog import Model, name_of, service_namespace
from ome.serving.components import Spec
from ome.serving.metadata import INFERENCESERVICE_LABEL
from ome.serving.naming import modelconfig_name

MODELS_KEY = "models.json"
# Go's encoder escapes these for HTML safety.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def model_entry(model: Model) -> dict[str, Any]:
    """One ``models.json`` entry, with upstream's field order and omissions."""
    spec, storage = model.spec, model.spec.storage
    facts = {
        "storageUri": storage.storage_uri,
        "path": storage.path,
        "schemaPath": storage.schema_path,
        "parameters": dict(sorted(storage.parameters.items())) if storage.parameters else None,
        "storageKey": storage.key,
        "modelFormatName": spec.model_format.name if spec.model_format else "",
        "modelFormatVersion": spec.model_format.version if spec.model_format else None,
        "modelType": spec.model_type,
        "modelFrameworkName": spec.model_framework.name if spec.model_framework else None,
        "modelFrameworkVersion": spec.model_framework.version if spec.model_framework else None,
    }
    # Go's omitempty drops nil pointers and empty maps, but keeps a pointer to ""
    kept = {k: v for k, v in facts.items() if v is not None and v != {}}
    return {"modelName": name_of(model), "modelSpec": kept}


def modelconfig(service: InferenceService, model: Model) -> Spec:
    document = json.dumps([model_entry(model)], separators=(",", ":"), ensure_ascii=False)
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
