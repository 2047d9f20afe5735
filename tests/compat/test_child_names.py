"""Every upstream InferenceService sample placed in one namespace: no two services get a
child of the same kind and name (upstream gives the meta and unsloth
llama-3-2-11b-vision-instruct services one ``modelconfig-…`` ConfigMap, which its two
owners then fight over).

Names are derived from the service's name and its components, so every sample is
rendered with the real planner against one runtime that declares an engine, a decoder
and a router and serves a stand-in of the sample's model: each service gets the most
children it can have."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ome.api.v1beta1 import KINDS, ClusterBaseModel, ClusterServingRuntime, InferenceService
from ome.api.validation import validate_object
from ome.serving import MemoryCatalog, ServingConfig, plan_service, render_objects
from tests.compat.reference import needs_reference, reference_documents

pytestmark = needs_reference
NAMESPACE = "one-namespace"
RUNTIME = "every-component"
RUNNER = {"name": "ome-container", "image": "engine:1", "ports": [{"containerPort": 8080}]}


def _model(name: str) -> ClusterBaseModel:
    spec = {
        "modelFormat": {"name": "safetensors"},
        "modelFramework": {"name": "transformers"},
        "modelArchitecture": "LlamaForCausalLM",
        "modelParameterSize": "8B",
        "storage": {"storageUri": f"hf://org/{name}"},
    }
    return ClusterBaseModel.model_validate({"metadata": {"name": name}, "spec": spec})


def _runtime() -> ClusterServingRuntime:
    spec = {
        "supportedModelFormats": [
            {
                "modelFormat": {"name": "safetensors"},
                "modelFramework": {"name": "transformers"},
                "modelArchitecture": "LlamaForCausalLM",
            }
        ],
        "engineConfig": {"runner": RUNNER},
        "decoderConfig": {"runner": RUNNER},
        "routerConfig": {"runner": {**RUNNER, "name": "router"}},
    }
    return ClusterServingRuntime.model_validate({"metadata": {"name": RUNTIME}, "spec": spec})


def _services() -> list[InferenceService]:
    found = []
    for document in reference_documents():
        outcome = validate_object(document.content, KINDS)
        if isinstance(outcome.model, InferenceService):
            found.append(outcome.model)
    return found


def _with_every_component(service: InferenceService) -> InferenceService:
    body: dict[str, Any] = service.model_dump(by_alias=True, exclude_unset=True, mode="json")
    body["metadata"]["namespace"] = NAMESPACE
    spec = body["spec"]
    spec["runtime"] = {"name": RUNTIME}
    for component in ("engine", "decoder", "router"):
        spec.setdefault(component, {"minReplicas": 1})
    return InferenceService.model_validate(body)


def test_no_two_services_share_a_child_name() -> None:
    services = {s.metadata.name: _with_every_component(s) for s in _services()}
    # 146 valid samples; six service names are used by two sample files each
    assert len(services) >= 140
    catalog = MemoryCatalog.of(
        [_runtime(), *(_model(s.spec.model.name) for s in services.values() if s.spec.model)]
    )
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, service in services.items():
        plan = plan_service(service, catalog, ServingConfig())
        for obj in render_objects(plan):
            owners[obj["kind"], obj["metadata"]["name"]].add(name)
    shared = {child: names for child, names in owners.items() if len(names) > 1}
    assert not shared
    assert len(owners) >= 10 * len(services)  # engine, decoder, router: 3 x 3 objects and more
