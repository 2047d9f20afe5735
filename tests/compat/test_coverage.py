"""Our CRDs cover upstream's: every property path of upstream's full schemas is in ours,
with the same names, scope, columns and subresources. Paths only we have come from where
docs/api.md says: the DedicatedAICluster kinds, and the embedded Kubernetes types of a
newer Kubernetes. And the objects we reject are exactly those upstream's schema rejects."""

from __future__ import annotations

import inspect
import types
from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

import pytest

from ome.api.crd import custom_resource_definition
from ome.api.types import KubeModel
from ome.api.v1beta1 import KINDS
from tests.compat.reference import MALFORMED, needs_reference, reference_documents, upstream_crds

pytestmark = needs_reference
OUR_OWN_KINDS = {"DedicatedAICluster", "DedicatedAIClusterProfile"}  # not in upstream's tree
MODEL_KINDS = ("BaseModel", "ClusterBaseModel", "FineTunedWeight")
# Ours, documented in docs/api.md ("Extensions"): download progress in the models' status,
# and the FineTunedWeight status upstream never writes, and so never declared.
OUR_STATUS_PATHS: dict[str, tuple[str, ...]] = {kind: (".status.progress",) for kind in MODEL_KINDS}
OUR_STATUS_PATHS["FineTunedWeight"] += (".status.conditions", ".status.observedGeneration")
OUR_COLUMNS = {
    "BaseModel": {"Progress"},
    "ClusterBaseModel": {"Progress"},
    "AcceleratorClass": {"Accelerators", "Available"},
}


@cache
def upstream() -> dict[str, dict[str, Any]]:
    return upstream_crds()


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def schema_paths(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for name, child in schema.get("properties", {}).items():
        yield f"{prefix}.{name}"
        yield from schema_paths(child, f"{prefix}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from schema_paths(schema["items"], f"{prefix}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from schema_paths(schema["additionalProperties"], f"{prefix}{{}}")


def declaring_classes(model: type[KubeModel], prefix: str = "") -> Iterator[tuple[str, type]]:
    """Each property path of a model, with the class that declares the field."""
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}"
        yield path, next(c for c in model.__mro__ if name in inspect.get_annotations(c))
        if path == ".metadata":  # the API server's own: no schema below it
            continue
        for suffix, inner in nested_models(field.annotation):
            yield from declaring_classes(inner, path + suffix)


def nested_models(annotation: Any, suffix: str = "") -> Iterator[tuple[str, type[KubeModel]]]:
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        yield from nested_models(arguments[0], suffix)
    elif origin in (Union, types.UnionType):
        for argument in arguments:
            yield from nested_models(argument, suffix)
    elif origin is list:
        yield from nested_models(arguments[0], suffix + "[]")
    elif origin is dict:
        yield from nested_models(arguments[1], suffix + "{}")
    elif isinstance(annotation, type) and issubclass(annotation, KubeModel):
        yield suffix, annotation


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_upstream_path_is_ours_and_every_extra_is_documented(kind: str) -> None:
    ours = set(schema_paths(schema_of(custom_resource_definition(KINDS[kind]))))
    if kind in OUR_OWN_KINDS:
        assert kind not in upstream()
        assert ours
        return
    theirs = set(schema_paths(schema_of(upstream()[kind])))
    assert not theirs - ours, f"{kind} lacks upstream's {sorted(theirs - ours)[:20]}"
    owners = dict(declaring_classes(KINDS[kind]))
    documented = OUR_STATUS_PATHS.get(kind, ())
    extras = Counter(
        owners[path].__module__ for path in ours - theirs if not path.startswith(documented)
    )
    print(f"{kind}: {len(theirs)} upstream paths, all ours; extra: {dict(extras)}")
    # a newer Kubernetes' fields in the embedded types (docs/api.md, "Extensions")
    assert set(extras) <= {"ome.api.k8s"}


@pytest.mark.parametrize("kind", sorted(set(KINDS) - OUR_OWN_KINDS))
def test_names_scope_columns_and_subresources_are_upstreams(kind: str) -> None:
    theirs, ours = upstream()[kind]["spec"], custom_resource_definition(KINDS[kind])["spec"]
    assert ours["group"] == theirs["group"]
    assert ours["scope"] == theirs["scope"]
    assert {k: v for k, v in ours["names"].items() if k != "categories"} == theirs["names"]
    (their_version,), (our_version,) = theirs["versions"], ours["versions"]
    for key in ("name", "served", "storage", "subresources"):
        assert our_version[key] == their_version[key], key
    extra = OUR_COLUMNS.get(kind, set())
    columns = [c for c in our_version["additionalPrinterColumns"] if c["name"] not in extra]
    assert columns == their_version["additionalPrinterColumns"]


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """The fields of ``value`` that ``schema`` does not declare (and would not keep)."""
    if isinstance(value, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
        properties, more = schema.get("properties"), schema.get("additionalProperties")
        for key, item in value.items():
            child = (properties or {}).get(key, more if isinstance(more, dict) else None)
            if properties is not None and key not in properties and child is None:
                yield f"{path}.{key}".lstrip(".")
            elif child is not None:
                yield from unknown_fields(item, child, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            yield from unknown_fields(item, schema["items"], f"{path}[]")


def test_we_reject_what_upstreams_schema_rejects() -> None:
    rejected = {}
    for document in reference_documents():
        crd = upstream().get(document.content["kind"])
        if crd is not None and document.content["apiVersion"].startswith("ome.io/"):
            unknown = tuple(sorted(unknown_fields(document.content, schema_of(crd))))
            if unknown:
                rejected[document.source] = unknown
    assert rejected == MALFORMED
