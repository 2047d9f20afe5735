"""ServingRuntime and ClusterServingRuntime validation: configuration, accelerator
classes, one priority per format name, and priority conflicts within the scope."""

from __future__ import annotations

from typing import Any

import pytest

from ome.api.v1beta1 import ServingRuntimeSpec
from ome.serving import MemoryCatalog
from ome.serving.sizes import ACCEPTED_SIZES, size_problem
from ome.webhooks import Admission
from ome.webhooks.review import Verdict
from ome.webhooks.servingruntime import configuration_problem
from tests.compat.malformed import VARIANTS
from tests.unit.webhooks.support import (
    NAMESPACE,
    cluster_runtime,
    format_entry,
    namespaced_runtime,
    request,
    runtime_document,
)

RUNTIME_VARIANTS = [v for v in VARIANTS if v.kind == "ClusterServingRuntime"]


def validate_cluster(document: dict[str, Any], *others: Any, classes: Any = None) -> Verdict:
    hooks = Admission(MemoryCatalog.of(others), accelerator_classes=classes)
    return hooks.validate_cluster_serving_runtime(request(document))


def validate_namespaced(document: dict[str, Any], *others: Any) -> Verdict:
    return Admission(MemoryCatalog.of(others)).validate_serving_runtime(request(document))


@pytest.mark.parametrize("variant", RUNTIME_VARIANTS, ids=[v.id for v in RUNTIME_VARIANTS])
def test_each_malformed_variant_is_refused_naming_its_field(variant: Any) -> None:
    verdict = validate_cluster(variant.document)
    assert not verdict.allowed
    assert variant.path in verdict.message


def test_the_same_priority_for_the_same_format_is_a_conflict() -> None:
    verdict = validate_cluster(runtime_document("new"), cluster_runtime("old"))
    assert not verdict.allowed
    assert not verdict.transient
    assert verdict.causes[0].field == "spec.supportedModelFormats[0].priority"
    assert verdict.message.endswith(
        "same priority assigned for the model format safetensors in the "
        "clusterservingruntimes old and new"
    )


def test_a_namespaced_conflict_names_the_namespace() -> None:
    verdict = validate_namespaced(
        runtime_document("new", kind="ServingRuntime"), namespaced_runtime("old")
    )
    assert f"in the servingruntimes old and new in namespace {NAMESPACE}" in verdict.message


def test_scopes_do_not_conflict_with_each_other() -> None:
    assert validate_namespaced(
        runtime_document("new", kind="ServingRuntime"), cluster_runtime("old")
    ).allowed
    assert validate_cluster(runtime_document("new"), namespaced_runtime("old")).allowed


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ({"formats": [format_entry(priority=2)]}, {}),
        ({"formats": [format_entry(autoSelect=False)]}, {}),
        ({"formats": [format_entry(priority=None)]}, {}),
        ({"formats": [format_entry(quantization="fp8")]}, {}),
        ({"formats": [format_entry(modelArchitecture="Other")]}, {}),
        ({"formats": [format_entry(modelFramework={"name": "transformers"})]}, {}),
        ({"fields": {"modelSizeRange": {"min": "1B", "max": "3B"}}}, {}),
        ({"fields": {"modelSizeRange": None}}, {}),
        ({"fields": {"protocolVersions": ["openInference-v2"]}}, {}),
        ({"fields": {"protocolVersions": None}}, {"fields": {"protocolVersions": None}}),
        ({}, {"fields": {"disabled": True}}),
        ({"fields": {"disabled": True}}, {}),
    ],
)
def test_runtimes_that_auto_selection_can_tell_apart_do_not_conflict(
    new: dict[str, Any], old: dict[str, Any]
) -> None:
    document = runtime_document("new", *new.get("formats", ()), **new.get("fields", {}))
    existing = cluster_runtime("old", *old.get("formats", ()), **old.get("fields", {}))
    verdict = validate_cluster(document, existing)
    assert verdict.allowed, verdict.message


def test_format_names_compare_ignoring_case_and_an_update_is_not_its_own_conflict() -> None:
    document = runtime_document("new", format_entry(name="SafeTensors"))
    assert not validate_cluster(document, cluster_runtime("old")).allowed
    assert validate_cluster(runtime_document("old"), cluster_runtime("old")).allowed


def test_one_name_one_priority_among_auto_selectable_formats() -> None:
    document = runtime_document(
        "new", format_entry(), format_entry(modelArchitecture="Qwen2ForCausalLM", priority=2)
    )
    verdict = validate_cluster(document)
    assert verdict.causes[0].field == "spec.supportedModelFormats[1].priority"
    assert "different priorities assigned for the model format safetensors" in verdict.message
    document = runtime_document("new", format_entry(), format_entry(priority=2, autoSelect=False))
    assert validate_cluster(document).allowed


def test_accelerator_classes_must_exist() -> None:
    requirements = {"acceleratorClasses": ["h100", "a100", "b200"]}
    document = runtime_document("new", acceleratorRequirements=requirements)
    verdict = validate_cluster(document, classes=lambda: ["h100"])
    assert verdict.causes[0].field == "spec.acceleratorRequirements.acceleratorClasses"
    assert verdict.causes[0].message.endswith("[a100 b200]")
    assert verdict.transient  # the classes may be created with the runtime
    assert validate_cluster(document, classes=lambda: ["h100", "a100", "b200"]).allowed
    assert validate_cluster(document).allowed  # no source of classes: not checked


def spec(**fields: Any) -> ServingRuntimeSpec:
    return ServingRuntimeSpec.model_validate(fields)


MULTI_NODE_ENV = [{"name": "c", "env": [{"name": "DEPLOYMENT_MODE", "value": "MultiNode"}]}]
RAW_ENV = [{"name": "c", "env": [{"name": "DEPLOYMENT_MODE", "value": "RawDeployment"}]}]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"workers": {"size": 0}}, "spec.workers.size"),
        ({"engineConfig": {}, "containers": MULTI_NODE_ENV}, "spec.workers.size"),
        ({"engineConfig": {}, "containers": RAW_ENV, "workers": {"size": 2}}, "spec.workers"),
        ({"engineConfig": {}, "decoderConfig": {}, "workers": {"size": 0}}, None),
        ({"engineConfig": {}, "workers": {"size": 2}}, None),
        ({"engineConfig": {}, "containers": MULTI_NODE_ENV, "workers": {"size": 1}}, None),
        ({"containers": RAW_ENV, "workers": {"size": 2}}, None),
    ],
)
def test_the_configuration_must_be_consistent(fields: dict[str, Any], field: str | None) -> None:
    problem = configuration_problem(spec(**fields))
    assert (problem[0] if problem else None) == field


def test_a_configuration_problem_is_refused() -> None:
    verdict = validate_cluster(runtime_document("new", workers={"size": -1}))
    assert verdict.causes[0].field == "spec.workers.size"
    assert verdict.message.startswith("spec.workers.size: invalid configuration: for MultiNode")


@pytest.mark.parametrize("kind", ["ClusterServingRuntime", "ServingRuntime"])
def test_size_range_bounds_must_be_sizes(kind: str) -> None:
    document = runtime_document("new", kind=kind, modelSizeRange={"min": "7 B", "max": "NaN"})
    validate = validate_cluster if kind == "ClusterServingRuntime" else validate_namespaced
    verdict = validate(document)
    assert not verdict.allowed
    assert not verdict.transient
    assert [(c.field, c.message) for c in verdict.causes] == [
        ("spec.modelSizeRange.min", size_problem("7 B")),
        ("spec.modelSizeRange.max", size_problem("NaN")),
    ]
    assert f"accepted: {ACCEPTED_SIZES}" in verdict.message


@pytest.mark.parametrize("bounds", [{"min": "1_000M", "max": "Inf"}, {"min": "0x1p3B"}])
def test_sizes_go_reads_are_admitted(bounds: dict[str, str]) -> None:
    assert validate_cluster(runtime_document("new", modelSizeRange=bounds)).allowed


def test_a_disabled_runtime_is_admitted_whatever_its_sizes() -> None:
    bounds = {"min": "NaN", "max": "9B"}
    assert validate_cluster(runtime_document("new", modelSizeRange=bounds, disabled=True)).allowed
