"""Resolving spec.model."""

from __future__ import annotations

from typing import Any

import pytest

from ome.serving import Reason, ServingError, resolve_base_model
from tests.unit.serving.helpers import catalog, cluster_model, namespaced_model, service


def resolve(model_ref: dict[str, Any], *objects: Any) -> Any:
    return resolve_base_model(service(model=model_ref), catalog(*objects))


def failure(model_ref: dict[str, Any] | None, *objects: Any) -> ServingError:
    with pytest.raises(ServingError) as caught:
        resolve_base_model(service(model=model_ref), catalog(*objects))
    return caught.value


def test_the_default_kind_is_cluster_base_model() -> None:
    cluster, local = cluster_model(), namespaced_model()
    assert resolve({"name": "llama"}, cluster, local) is cluster


def test_kind_base_model_looks_in_the_namespace_only() -> None:
    local = namespaced_model()
    assert resolve({"name": "llama", "kind": "BaseModel"}, cluster_model(), local) is local
    error = failure({"name": "llama", "kind": "BaseModel"}, cluster_model())
    assert error.reason is Reason.BASE_MODEL_NOT_FOUND
    assert "namespace 'team'" in error.message


def test_a_missing_cluster_model_hints_at_the_namespaced_one() -> None:
    error = failure({"name": "llama"}, namespaced_model())
    assert error.reason is Reason.BASE_MODEL_NOT_FOUND
    assert "set kind: BaseModel" in error.message


def test_an_empty_kind_takes_upstreams_order() -> None:
    local, cluster = namespaced_model(), cluster_model()
    assert resolve({"name": "llama", "kind": ""}, cluster, local) is local
    assert resolve({"name": "llama", "kind": ""}, cluster) is cluster
    assert (
        resolve({"name": "llama", "kind": ""}, namespaced_model(namespace="other"), cluster)
        is cluster
    )


@pytest.mark.parametrize(
    ("model_ref", "reason"),
    [
        (None, Reason.MODEL_REF_MISSING),
        ({"name": ""}, Reason.MODEL_REF_MISSING),
        ({"name": "llama", "kind": "FineTunedWeight"}, Reason.UNSUPPORTED_MODEL_KIND),
        ({"name": "mistral"}, Reason.BASE_MODEL_NOT_FOUND),
    ],
)
def test_bad_references(model_ref: dict[str, Any] | None, reason: Reason) -> None:
    assert failure(model_ref, cluster_model()).reason is reason


def test_a_disabled_model_is_refused() -> None:
    error = failure({"name": "llama"}, cluster_model(disabled=True))
    assert error.reason is Reason.BASE_MODEL_DISABLED
