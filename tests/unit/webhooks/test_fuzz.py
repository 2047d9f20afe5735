"""A fuzzer of the admission handlers: AdmissionReviews for each webhook kind, built from
the CRD schemas in ``manifests/crds`` and from valid documents with arbitrary JSON put
anywhere in them.

Properties, for every review:

- the handler never raises and never answers 500 (the server would turn either into a
  refusal the user cannot act on, or into an admission under a lax failure policy);
- every refusal names the field it is for, in the message the user reads;
- every object admitted, and valid against its CRD schema (the API server checks that
  before the validating webhooks), is one the controllers can read: it parses into the
  API model, and an InferenceService's plan either resolves or fails with the
  controller's own :class:`~ome.serving.ServingError` (a ``Ready=False`` reason).

Examples per property: ``OME_FUZZ_EXAMPLES`` (default small, for the unit suite);
``OME_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/unit/webhooks/test_fuzz.py`` for a long
run."""

from __future__ import annotations

import contextlib
import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ome.api.v1beta1 import (
    BenchmarkJob,
    ClusterServingRuntime,
    DedicatedAICluster,
    FineTunedWeight,
    InferenceService,
    ServingRuntime,
)
from ome.serving import MemoryCatalog, ServingError, parse_config, plan_service
from ome.webhooks import Admission
from ome.webhooks import configuration as paths
from ome.webhooks.defaulting import default_inference_service
from ome.webhooks.review import Verdict
from tests.compat.malformed import API_VERSION, VALID
from tests.unit.webhooks.support import (
    NAMESPACE,
    cluster_model,
    cluster_runtime,
    format_entry,
    request,
    runtime_document,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = int(os.environ.get("OME_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 40,  # the unit suite sees the same examples every run
)
DEPTH = 3
"""Levels of a schema generated below ``spec``: deeper objects are left empty."""
MODEL = "llama-3-1-8b-instruct"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are megabytes


def _seed(kind: str) -> dict[str, Any]:
    if kind in VALID:
        document = copy.deepcopy(VALID[kind])
    elif kind == "ServingRuntime":
        document = runtime_document("srt-namespaced", kind="ServingRuntime")
    else:
        document = {"metadata": {"name": "dac"}, "spec": {"profile": "small"}}
    document.update(apiVersion=API_VERSION, kind=kind)
    if kind in ("InferenceService", "ServingRuntime", "FineTunedWeight", "BenchmarkJob",
                "DedicatedAICluster"):  # fmt: skip
        document["metadata"]["namespace"] = NAMESPACE
    return document


# kind -> (path of its validating webhook, its API model); InferenceService is also mutated
KINDS: dict[str, tuple[str, type[pydantic.BaseModel]]] = {
    "InferenceService": (paths.VALIDATE_INFERENCESERVICE, InferenceService),
    "ServingRuntime": (paths.VALIDATE_SERVINGRUNTIME, ServingRuntime),
    "ClusterServingRuntime": (paths.VALIDATE_CLUSTERSERVINGRUNTIME, ClusterServingRuntime),
    "FineTunedWeight": (paths.VALIDATE_FINETUNEDWEIGHT, FineTunedWeight),
    "BenchmarkJob": (paths.VALIDATE_BENCHMARKJOB, BenchmarkJob),
    "DedicatedAICluster": (paths.VALIDATE_DEDICATEDAICLUSTER, DedicatedAICluster),
}
CRD_FILES = {
    "InferenceService": "inferenceservices",
    "ServingRuntime": "servingruntimes",
    "ClusterServingRuntime": "clusterservingruntimes",
    "FineTunedWeight": "finetunedweights",
    "BenchmarkJob": "benchmarkjobs",
    "DedicatedAICluster": "dedicatedaiclusters",
}


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    path = ROOT / "manifests" / "crds" / f"ome.io_{CRD_FILES[kind]}.yaml"
    document = yaml.load(path.read_text(), Loader=LOADER)
    schema: dict[str, Any] = document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def schema_valid(kind: str, obj: Any) -> bool:
    """Whether the API server's schema check would let ``obj`` through (unknown fields
    are pruned there, so only the known ones are checked)."""
    return bool(validator(kind).is_valid(obj))


@cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(crd_schema(kind))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=3),
    max_leaves=8,
)  # fmt: skip
"""Arbitrary JSON, small."""


_MADE: dict[tuple[int, int], st.SearchStrategy[Any]] = {}


def from_schema(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Made once per schema node and depth (the CRD schemas hold pod specs: thousands of
    nodes)."""
    made = _MADE.get((id(schema), depth))
    if made is None:
        made = _MADE[id(schema), depth] = _from_schema(schema, depth)
    return made


def _from_schema(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    """Values of an OpenAPI v3 schema (enums, types, required and optional properties,
    int-or-string), bounded in depth and size; objects that preserve unknown fields or
    have no properties get arbitrary JSON."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("x-kubernetes-int-or-string"):
        return st.integers(-5, 100) | st.sampled_from(["1", "50%", "7B", "abc", ""])
    kind = schema.get("type")
    if kind == "string":
        return st.sampled_from(["", "llama", "a.b", "1Gi", "hf://x/y", "Ready"]) | st.text(
            max_size=10
        )
    if kind == "integer":
        return st.integers(-3, 10) | st.integers(-(2**31), 2**31)
    if kind == "number":
        return st.floats(-10, 1e6, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        if depth >= DEPTH:
            return st.just([])
        return st.lists(from_schema(schema.get("items") or {}, depth + 1), max_size=2)
    properties = schema.get("properties") or {}
    if kind == "object" and properties:
        if depth >= DEPTH:
            return st.just({})
        required = set(schema.get("required") or ())
        strategies = {
            k: st.deferred(lambda v=v: from_schema(v, depth + 1)) for k, v in properties.items()
        }
        return st.fixed_dictionaries(
            {k: s for k, s in strategies.items() if k in required},
            optional={k: s for k, s in strategies.items() if k not in required},
        )
    additional = schema.get("additionalProperties")
    if kind == "object" and isinstance(additional, dict) and depth < DEPTH:
        return st.dictionaries(st.text(min_size=1, max_size=8), from_schema(additional, depth + 1),
                               max_size=2)  # fmt: skip
    return JSON


@cache
def generated(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """The seed document with its ``spec`` drawn from the CRD schema."""
    spec = crd_schema(kind)["properties"]["spec"]
    return from_schema(spec).map(lambda drawn: {**_seed(kind), "spec": drawn})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The seed document with one to three places replaced by arbitrary JSON, removed, or
    given an extra key."""
    document = _seed(kind)
    for _ in range(draw(st.integers(1, 3))):
        spec = document.get("spec")
        place = draw(st.sampled_from(_paths(spec)))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if not place:
            document["spec"] = draw(JSON) if action == "replace" else {}
            continue
        parent = spec
        for step in place[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[place[-1]] = draw(JSON)
        elif action == "remove":
            del parent[place[-1]]
        elif isinstance(parent[place[-1]], dict):
            parent[place[-1]][draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    return document


@cache
def documents(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return generated(kind) | mutated(kind)


def admission() -> Admission:
    model = cluster_model(MODEL)
    runtime = cluster_runtime("srt-llama-3-1-8b-instruct", format_entry())
    return Admission(
        MemoryCatalog.of([model, runtime]),
        accelerator_classes=lambda: ["a100"],
        weight_users=lambda name: [],
        dac_profiles=lambda name: None,
        dacs=lambda name: None,
        migrate_predictor=True,
    )


def judged(path: str, obj: dict[str, Any], operation: str, old: Any) -> Verdict:
    handler = admission().handler(path)
    assert handler is not None
    return handler(request(obj, operation, old))


def check_answer(verdict: Verdict) -> None:
    assert verdict.code != 500, verdict.message
    if not verdict.allowed and verdict.code != 400:  # 400: no object at all to name
        assert verdict.causes, f"a refusal naming no field: {verdict.message}"
        for cause in verdict.causes:
            assert cause.field, f"a refusal naming no field: {verdict.message}"
            assert cause.field in verdict.message


def pruned(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` as the API server stores it: fields the schema does not know dropped,
    unless it preserves unknown fields."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if properties is not None:
            return {k: pruned(v, properties[k]) for k, v in value.items() if k in properties}
        if isinstance(additional, dict):
            return {k: pruned(v, additional) for k, v in value.items()}
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [pruned(item, schema["items"]) for item in value]
    return value


def check_readable(kind: str, obj: dict[str, Any]) -> None:
    """What the controller does with an admitted object must not raise but as designed."""
    model = KINDS[kind][1]
    stored = {**obj, "spec": pruned(obj.get("spec"), crd_schema(kind)["properties"]["spec"])}
    parsed = model.model_validate(stored)
    if isinstance(parsed, InferenceService):
        catalog = MemoryCatalog.of([cluster_model(MODEL), cluster_runtime(
            "srt-llama-3-1-8b-instruct", format_entry())])  # fmt: skip
        with contextlib.suppress(ServingError):
            plan_service(parsed, catalog, parse_config(None))


def admitted_through(kind: str, obj: dict[str, Any], operation: str, old: Any) -> None:
    """The API server's order: mutating webhook, schema check, validating webhook."""
    if kind == "InferenceService":
        mutation = judged(paths.MUTATE_INFERENCESERVICE, obj, operation, old)
        check_answer(mutation)
        if not mutation.allowed:
            return
        # what the patch makes of it (the mutating handler diffs exactly this)
        mode = parse_config(None).default_deployment_mode
        obj, _ = default_inference_service(obj, mode, migrate_predictor=True)
    verdict = judged(KINDS[kind][0], obj, operation, old)
    check_answer(verdict)
    if verdict.allowed and schema_valid(kind, obj):
        check_readable(kind, obj)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("spec", [1, True, "text", ["a"]])
def test_a_spec_that_is_not_an_object_is_refused_naming_spec(kind: str, spec: Any) -> None:
    """Found by the fuzzer: the DedicatedAICluster validator raised on it (a 500), and the
    InferenceService defaulter, which sees objects before the API server's schema check
    does, raised too."""
    obj = {**_seed(kind), "spec": spec}
    hooks = [KINDS[kind][0]]
    if kind == "InferenceService":
        hooks.append(paths.MUTATE_INFERENCESERVICE)
    for hook in hooks:
        verdict = judged(hook, obj, "CREATE", None)
        check_answer(verdict)
        assert not verdict.allowed
        assert [c.field for c in verdict.causes] == ["spec"]


@pytest.mark.parametrize("kind", sorted(KINDS))
@FUZZ
@given(data=st.data())
def test_created_objects_are_judged_without_error(kind: str, data: st.DataObject) -> None:
    admitted_through(kind, data.draw(documents(kind), label="object"), "CREATE", None)


@pytest.mark.parametrize("kind", sorted(KINDS))
@FUZZ
@given(data=st.data())
def test_updates_are_judged_without_error(kind: str, data: st.DataObject) -> None:
    old = data.draw(documents(kind), label="old")
    new = data.draw(documents(kind), label="new")
    new["metadata"] = old["metadata"]
    admitted_through(kind, new, "UPDATE", old)


@FUZZ
@given(obj=JSON)
@example(obj=None)
@example(obj=[])
@example(obj={"spec": "not an object"})
@example(obj={"metadata": {"annotations": {"ome.io/dedicated-ai-cluster": "x"}}, "spec": 1})
def test_anything_sent_as_the_object_is_answered(obj: Any) -> None:
    for path in (h.path for h in paths.HOOKS):
        handler = admission().handler(path)
        assert handler is not None
        check_answer(handler(request(obj)))
        json.dumps(handler(request(obj)).message)
