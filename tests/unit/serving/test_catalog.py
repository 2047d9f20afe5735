"""The in-memory catalogue."""

from __future__ import annotations

from ome.serving.catalog import find_runtime
from tests.unit.serving.helpers import (
    NAMESPACE,
    catalog,
    cluster_model,
    cluster_runtime,
    format_entry,
    namespaced_model,
    namespaced_runtime,
    service,
)


def test_a_later_object_of_the_same_name_replaces_an_earlier_one() -> None:
    first = cluster_runtime("srt", format_entry(autoSelect=True))
    second = cluster_runtime("srt", format_entry(autoSelect=False))
    assert list(catalog(first, second).cluster_serving_runtimes()) == [second]


def test_objects_are_filed_by_kind_and_scope() -> None:
    local_model, cluster = namespaced_model(), cluster_model()
    local = namespaced_runtime("srt")
    found = catalog(local_model, cluster, local, service())
    assert found.base_model(NAMESPACE, "llama") is local_model
    assert found.base_model("other", "llama") is None
    assert found.cluster_base_model("llama") is cluster
    assert list(found.serving_runtimes(NAMESPACE)) == [local]
    assert list(found.serving_runtimes("other")) == []
    assert find_runtime(found, "other", "srt") is None
