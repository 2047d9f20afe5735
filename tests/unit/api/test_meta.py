"""Object metadata follows the API server's naming rules; a kind fills in its type meta."""

from __future__ import annotations

import pydantic
import pytest

from ome.api.meta import ObjectMeta
from ome.api.v1beta1 import ClusterBaseModel, InferenceService
from ome.client import gvk_of


def meta_error(**fields: object) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        ObjectMeta.model_validate(fields)
    (error,) = caught.value.errors()
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


@pytest.mark.parametrize("name", ["llama", "llama-3.1-8b", "a" * 253, "0x"])
def test_valid_names(name: str) -> None:
    assert ObjectMeta(name=name).name == name


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "Llama"}, "name: Invalid value 'Llama': a lowercase RFC 1123 subdomain"),
        ({"name": "-a"}, "name: Invalid value '-a'"),
        ({"name": "a" * 254}, "must be no more than 253 characters"),
        ({"namespace": "a.b"}, "namespace: Invalid value 'a.b': a lowercase RFC 1123 label"),
        ({"generateName": "Job-"}, "generateName: Invalid value 'Job-'"),
        ({"labels": {"a b": "x"}}, "labels: Invalid value 'a b': name part"),
        ({"labels": {"ome.io/x": "a b"}}, "labels: Invalid value 'a b': a valid label"),
        ({"labels": {"Bad_Prefix/x": "y"}}, "labels: Invalid value 'Bad_Prefix/x': prefix"),
        ({"annotations": {"/x": "y"}}, "annotations: Invalid value '/x'"),
    ],
)
def test_invalid_metadata(fields: dict[str, object], expected: str) -> None:
    assert expected in meta_error(**fields)


def test_generate_name_may_end_with_a_dash() -> None:
    assert ObjectMeta.model_validate({"generateName": "bench-"}).generate_name == "bench-"


def test_kinds_carry_their_group_version_kind() -> None:
    assert str(gvk_of(InferenceService)) == "InferenceService.v1beta1.ome.io"
    assert (InferenceService.PLURAL, InferenceService.SCOPE) == ("inferenceservices", "Namespaced")
    assert (ClusterBaseModel.PLURAL, ClusterBaseModel.SCOPE) == ("clusterbasemodels", "Cluster")


def test_type_meta_is_filled_in_and_dumped() -> None:
    built = InferenceService(metadata=ObjectMeta(name="llama"))
    assert built.model_dump(exclude_unset=True) == {
        "apiVersion": "ome.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llama"},
    }


def test_type_meta_must_match_the_class() -> None:
    with pytest.raises(pydantic.ValidationError, match="Unsupported value 'BaseModel'"):
        InferenceService.model_validate({"kind": "BaseModel", "metadata": {"name": "a"}})
    with pytest.raises(pydantic.ValidationError, match=r"Unsupported value 'ome\.io/v1'"):
        InferenceService.model_validate({"apiVersion": "ome.io/v1", "metadata": {"name": "a"}})


def test_an_object_needs_a_name() -> None:
    with pytest.raises(pydantic.ValidationError, match="name or generateName is required"):
        InferenceService.model_validate({"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(pydantic.ValidationError, match="metadata"):
        InferenceService.model_validate({"spec": {}})
