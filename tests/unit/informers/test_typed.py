"""Reading a cache through a pydantic model."""

from __future__ import annotations

import pydantic

from ome.informers import ModelStore, Store


class Widget(pydantic.BaseModel):
    metadata: dict[str, str]
    size: int


def widget(name: str, size: object, version: str = "1", namespace: str = "a") -> dict[str, object]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": version}
    return {"metadata": meta, "size": size}


def test_objects_come_back_as_models_and_invalid_ones_are_skipped() -> None:
    store = Store()
    store.upsert(widget("w1", 3))
    store.upsert(widget("bad", "many"))
    store.upsert(widget("w2", 5, namespace="b"))
    widgets = ModelStore(store, Widget)
    found = widgets.get("a/w1")
    assert found is not None
    assert found.size == 3
    assert widgets.get("a/bad") is None
    assert widgets.get("a/missing") is None
    assert sorted(w.metadata["name"] for w in widgets.list()) == ["w1", "w2"]
    assert [w.metadata["name"] for w in widgets.in_namespace("b")] == ["w2"]


def test_an_object_is_parsed_once_per_resource_version() -> None:
    store = Store()
    store.upsert(widget("w1", 3))
    widgets = ModelStore(store, Widget)
    first = widgets.get("a/w1")
    assert widgets.get("a/w1") is first
    store.upsert(widget("w1", 4, version="2"))
    changed = widgets.get("a/w1")
    assert changed is not first
    assert changed is not None
    assert changed.size == 4


def test_index_lookups_are_parsed_too() -> None:
    store = Store({"size": lambda obj: [str(obj["size"])]})
    store.upsert(widget("w1", 3))
    store.upsert(widget("w2", 4))
    assert [w.metadata["name"] for w in ModelStore(store, Widget).by_index("size", "4")] == ["w2"]
