"""Random documents, shaped by each kind's own CRD schema and broken at random places:
validation either accepts a document — and then dumps it back unchanged — or rejects it
with a validation error; it never raises anything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ome.api.schema import root_schema
from ome.api.v1beta1 import KINDS
from ome.api.validation import validate_object

DEEPEST = 5  # below this, objects get their required fields only

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
NAMES = st.sampled_from(["llama", "a.b-c", "x1"])
BAD_NAMES = st.sampled_from(["Bad_Name", "", "-x", "a/b/c", "ome.io/tier"])


def sometimes(
    strategy: st.SearchStrategy[Any], instead: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """``strategy``, and one time in twenty ``instead``."""
    return st.integers(0, 19).flatmap(lambda n: instead if n == 0 else strategy)


def shaped(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    """A value for ``schema``, or once in a while any JSON value instead."""
    return sometimes(_fitting(schema, depth), JSON)


def _fitting(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if schema.get("x-kubernetes-int-or-string"):
        return st.one_of(st.integers(), st.sampled_from(["1", "500m", "2Gi", "80%", "x"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return st.lists(shaped(schema["items"], depth + 1), max_size=3)
    if kind == "object":
        return _object(schema, depth)
    scalars: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=8),
        "integer": st.integers(min_value=0, max_value=2**40),
        "boolean": st.booleans(),
    }
    return scalars[str(kind)]


def _object(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if isinstance(schema.get("additionalProperties"), dict):
        values = shaped(schema["additionalProperties"], depth + 1)
        return st.dictionaries(st.text(max_size=6), values, max_size=2)
    properties = schema.get("properties", {})
    if not properties:
        return st.dictionaries(st.text(max_size=6), JSON, max_size=2)
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: shaped(properties[name], depth + 1) for name in sorted(required)},
        optional={}
        if depth >= DEEPEST
        else {n: shaped(s, depth + 1) for n, s in properties.items() if n not in required},
    )


def documents(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    properties = root_schema(KINDS[kind])["properties"]
    name = sometimes(NAMES, BAD_NAMES)
    metadata = st.fixed_dictionaries(
        {"name": name},
        optional={"labels": st.dictionaries(name, name, max_size=2), "namespace": name},
    )
    return st.fixed_dictionaries(
        {
            "apiVersion": st.just("ome.io/v1beta1"),
            "kind": st.just(kind),
            "metadata": metadata,
            "spec": shaped(properties["spec"], 1),
        },
        optional={"status": shaped(properties["status"], 1)},
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_random_documents(kind: str) -> None:
    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(documents(kind))
    def check(document: dict[str, Any]) -> None:
        outcome = validate_object(document, KINDS)  # raises nothing but a verdict
        assert outcome.status in ("valid", "invalid")
        if outcome.model is not None:
            assert outcome.model.model_dump(by_alias=True, exclude_unset=True) == document
        else:
            assert outcome.problems

    check()
