"""Validation verdicts and problems worded with the API server's field paths."""

from __future__ import annotations

from typing import Any

import pytest

from ome.api.v1beta1 import KINDS
from ome.api.validation import field_path, validate_object


def isvc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("location", "path"),
    [
        (("spec", "engine", "minReplicas"), "spec.engine.minReplicas"),
        (("spec", "containers", 0, "name"), "spec.containers[0].name"),
        (("spec", "a", 1, 2), "spec.a[1][2]"),
        ((), ""),
    ],
)
def test_field_paths(location: tuple[int | str, ...], path: str) -> None:
    assert field_path(location) == path


def test_valid_object() -> None:
    outcome = validate_object(isvc(model={"name": "llama-3"}), KINDS)
    assert (outcome.status, outcome.label, outcome.problems) == (
        "valid",
        "InferenceService/llama",
        (),
    )
    assert outcome.model is not None
    assert outcome.model.model_dump(exclude_unset=True) == isvc(model={"name": "llama-3"})


def test_problems_name_the_field_and_the_value() -> None:
    outcome = validate_object(isvc(engine={"minReplicas": "1"}, model={}, extra=1), KINDS)
    assert outcome.status == "invalid"
    assert outcome.problems == (
        "spec.engine.minReplicas: Input should be a valid integer (got '1')",
        "spec.model.name: Required value",
        "spec.extra: unknown field",
    )


def test_other_groups_are_skipped() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "llama"}}
    assert validate_object(namespace, KINDS).status == "skipped"
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    assert validate_object(kustomization, KINDS).label == "Kustomization/?"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (["not", "a", "map"], "(document): not an object"),
        ({"kind": "InferenceService"}, "apiVersion: Required value"),
        ({"apiVersion": "ome.io/v1beta1"}, "kind: Required value"),
        ({"apiVersion": "ome.io/v1", "kind": "BaseModel"}, "apiVersion: Unsupported value"),
        ({"apiVersion": "ome.io/v1beta1", "kind": "Model"}, "kind: Unsupported value 'Model'"),
    ],
)
def test_what_the_server_would_not_take(content: Any, problem: str) -> None:
    outcome = validate_object(content, KINDS)
    assert outcome.status == "invalid"
    assert outcome.problems[0].startswith(problem)
