"""Upstream's catalogue as a cluster would hold it once the model agent has read each
model's config.json: most catalogue models leave their format, framework, architecture,
quantization and size to the agent (the samples then fail with ModelFormatMissing).

Offline there is no config.json, so a model's facts are taken from what its runtime says
such a model is: the first supported format of the runtime a sample names for it, and
the lower end of the runtime's size range. They are filled with the agent's own rule
(:func:`ome.agent.metadata.backfill`: only fields the catalogue leaves unset)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ome.agent.metadata import ModelMetadata, NamedVersion, backfill
from ome.api.v1beta1 import KINDS
from ome.api.validation import validate_object
from tests.compat.reference import reference_documents

MODEL_KINDS = ("BaseModel", "ClusterBaseModel")
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")


def _named(value: Any) -> NamedVersion | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return NamedVersion(value["name"], value.get("version"))


def runtime_metadata(runtime: dict[str, Any]) -> ModelMetadata:
    """What the agent would read from a model this runtime was written for."""
    spec = runtime.get("spec", {})
    entry = (spec.get("supportedModelFormats") or [{}])[0]
    return ModelMetadata(
        model_architecture=entry.get("modelArchitecture"),
        model_parameter_size=(spec.get("modelSizeRange") or {}).get("min"),
        quantization=entry.get("quantization"),
        model_format=_named(entry.get("modelFormat")),
        model_framework=_named(entry.get("modelFramework")),
    )


@cache
def _documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((d.source, d.content) for d in reference_documents())


def backfilled_catalogue() -> list[dict[str, Any]]:
    """Every model and runtime of the reference folders (the last of a name wins, as
    ``kubectl apply`` would have it), each model without a format back-filled from the
    runtime the first sample naming both uses."""
    models: dict[tuple[str, str], dict[str, Any]] = {}
    runtimes: dict[str, dict[str, Any]] = {}
    services: list[dict[str, Any]] = []
    for _, content in _documents():
        kind = content.get("kind")
        name = (content.get("metadata") or {}).get("name", "")
        if kind in MODEL_KINDS:
            models[kind, name] = content
        elif kind in RUNTIME_KINDS:
            runtimes[name] = content
        elif kind == "InferenceService":
            services.append(content)
    filled = dict(models)
    for service in services:
        spec = service.get("spec") or {}
        model_name = (spec.get("model") or {}).get("name")
        runtime = runtimes.get((spec.get("runtime") or {}).get("name", ""))
        key = ("ClusterBaseModel", model_name)
        model = filled.get(key)
        if runtime is None or model is None or (model["spec"].get("modelFormat") or {}).get("name"):
            continue
        spec_filled = backfill(model["spec"], runtime_metadata(runtime))
        filled[key] = {**model, "spec": spec_filled}
    return [*filled.values(), *runtimes.values()]


def validated(objects: list[dict[str, Any]]) -> list[Any]:
    return [outcome.model for o in objects if (outcome := validate_object(o, KINDS)).model]
