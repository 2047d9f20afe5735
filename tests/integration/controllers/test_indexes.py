"""The controller's in-memory bookkeeping, without a cluster: which requests a runtime or
a model event maps to, and the catalogue over stores."""

from __future__ import annotations

from typing import Any

from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.setup import model_index
from ome.controllers.inferenceservice.tracking import Tracker
from ome.informers.store import Store
from ome.runtime import Request


def test_tracker_maps_runtimes_to_their_users_and_keeps_failures() -> None:
    tracker = Tracker()
    tracker.serving("a/one", "srt")
    tracker.serving("b/two", "srt")
    tracker.serving("a/three", "other")
    tracker.failing("a/four", "BaseModelNotFound")
    assert set(tracker.using_runtime("srt", None)) == {Request("a", "one"), Request("b", "two")}
    assert tracker.using_runtime("srt", "a") == [Request("a", "one")]
    assert tracker.failed("a") == [Request("a", "four")]
    assert tracker.failed("b") == []
    tracker.serving("a/four", "srt")  # recovered
    assert tracker.failed() == []
    tracker.failing("a/one", "RuntimeNotFound")  # no longer uses srt
    assert tracker.using_runtime("srt", "a") == [Request("a", "four")]
    tracker.forget("a/one")
    assert tracker.failed() == []


def test_model_index_reads_the_model_name() -> None:
    assert model_index({"spec": {"model": {"name": "m"}}}) == ["m"]
    assert model_index({"spec": {}}) == []


def _runtime(name: str, namespace: str | None = None, version: str = "1") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "resourceVersion": version}
    if namespace:
        meta["namespace"] = namespace
    kind = "ServingRuntime" if namespace else "ClusterServingRuntime"
    return {"apiVersion": "ome.io/v1beta1", "kind": kind, "metadata": meta, "spec": {}}


def test_store_catalog_validates_once_per_version() -> None:
    runtimes, cluster_runtimes = Store(), Store()
    runtimes.upsert(_runtime("ns-rt", "a"))
    runtimes.upsert(_runtime("elsewhere", "b"))
    cluster_runtimes.upsert(_runtime("cluster-rt"))
    models = {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterBaseModel",
        "metadata": {"name": "m", "resourceVersion": "1"},
        "spec": {"storage": {"storageUri": "hf://org/model"}},
    }
    cluster_models = Store()
    cluster_models.upsert(models)
    cluster_models.upsert({**models, "metadata": {"name": "invalid"}, "spec": {}})
    catalog = StoreCatalog(Store(), cluster_models, runtimes, cluster_runtimes)
    assert [r.metadata.name for r in catalog.serving_runtimes("a")] == ["ns-rt"]
    assert [r.metadata.name for r in catalog.cluster_serving_runtimes()] == ["cluster-rt"]
    first = catalog.cluster_base_model("m")
    assert first is not None
    assert catalog.cluster_base_model("m") is first  # same version: not validated again
    cluster_models.upsert({**models, "metadata": {"name": "m", "resourceVersion": "2"}})
    assert catalog.cluster_base_model("m") is not first
    assert catalog.base_model("a", "m") is None
    assert catalog.cluster_base_model("invalid") is None  # refused by validation: skipped
