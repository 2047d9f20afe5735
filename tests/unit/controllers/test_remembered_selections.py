"""Runtime selection remembered between reconciles: the same answer while the runtimes and
the model's version stay, a fresh one when either changes or the service asks differently."""

from __future__ import annotations

from typing import Any

import pytest

from ome.api.v1beta1 import ClusterBaseModel
from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.selections import RememberedSelections
from ome.informers import Store
from ome.serving import SelectionError
from tests.unit.serving.helpers import model_spec, runtime_spec, service


def stored_runtime(name: str, version: str = "1", **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ome.io/v1beta1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": name, "resourceVersion": version},
        "spec": runtime_spec(**fields),
    }


def model(version: str | None = "1", **facts: Any) -> ClusterBaseModel:
    metadata = {"name": "llama", "resourceVersion": version}
    return ClusterBaseModel.model_validate({"metadata": metadata, "spec": model_spec(**facts)})


@pytest.fixture
def runtimes() -> Store:
    store = Store()
    store.upsert(stored_runtime("srt-a"))
    return store


@pytest.fixture
def selections(runtimes: Store) -> RememberedSelections:
    return RememberedSelections(StoreCatalog(Store(), Store(), Store(), runtimes))


def test_the_same_question_is_answered_from_memory(selections: RememberedSelections) -> None:
    first = selections.select(service("one"), model())
    assert first.name == "srt-a"
    assert [c.name for c in first.candidates] == ["srt-a"]  # the winner's verdict alone
    # another service asking the same: the same answer, not judged again
    assert selections.select(service("two"), model()) is first


def test_a_changed_runtime_or_model_is_judged_again(
    selections: RememberedSelections, runtimes: Store
) -> None:
    first = selections.select(service(), model())
    runtimes.upsert(stored_runtime("srt-b", modelSizeRange={"min": "8B", "max": "8B"}))
    second = selections.select(service(), model())
    assert second is not first
    assert second.name == "srt-b"  # a size range closer to the model's 8B wins
    assert selections.select(service(), model("2")) is not second


def test_what_the_service_asks_for_is_part_of_the_question(
    selections: RememberedSelections, runtimes: Store
) -> None:
    runtimes.upsert(stored_runtime("srt-b", modelSizeRange={"min": "8B", "max": "8B"}))
    assert selections.select(service(), model()).name == "srt-b"
    named = selections.select(service(runtime="srt-a"), model())
    assert (named.name, named.auto_selected) == ("srt-a", False)
    with pytest.raises(SelectionError, match="accelerator class"):
        selections.select(service(acceleratorSelector={"acceleratorClass": "h100"}), model())


def test_a_model_without_a_version_is_never_remembered(selections: RememberedSelections) -> None:
    first = selections.select(service(), model(version=None))
    assert selections.select(service(), model(version=None)) is not first


def test_an_unservable_service_is_judged_each_time(selections: RememberedSelections) -> None:
    for _ in range(2):
        with pytest.raises(SelectionError, match="no runtime supports"):
            selections.select(service(), model(modelArchitecture="MistralForCausalLM"))
