"""The stores, plain and compact: keys, upserts and deletes, replacement, and indexes kept
current; what only the compact store does."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from ome.informers import NAMESPACE_INDEX, CompactStore, Store, object_key
from ome.informers.store import namespace_index


def obj(name: str, namespace: str | None = "default", **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata}


def by_app(o: Any) -> list[str]:
    app = o["metadata"]["labels"].get("app")
    return [app] if app else []


@pytest.fixture(params=[Store, CompactStore])
def kind(request: pytest.FixtureRequest) -> type[Store]:
    store_type: type[Store] = request.param
    return store_type


def test_keys_are_namespace_slash_name_or_name() -> None:
    assert object_key(obj("a", "ns")) == "ns/a"
    assert object_key(obj("node-1", None)) == "node-1"
    with pytest.raises(ValueError, match=r"metadata\.name"):
        object_key({"metadata": {}})


def test_upsert_get_delete_return_what_was_there(kind: type[Store]) -> None:
    store = kind()
    first, second = obj("a"), obj("a", app="x")
    assert store.upsert(first) is None
    assert store.upsert(second) == first
    assert store.get("default/a") == second
    assert store.list_keys() == ["default/a"]
    assert store.delete("default/a") == second
    assert store.delete("default/a") is None
    assert len(store) == 0


def test_indexes_follow_updates_and_deletes(kind: type[Store]) -> None:
    store = kind({NAMESPACE_INDEX: namespace_index, "app": by_app})
    store.upsert(obj("a", app="web"))
    store.upsert(obj("b", "other", app="web"))
    assert {o["metadata"]["name"] for o in store.by_index("app", "web")} == {"a", "b"}
    assert store.index_keys(NAMESPACE_INDEX, "other") == ["other/b"]

    store.upsert(obj("a", app="db"))
    assert store.index_keys("app", "web") == ["other/b"]
    assert store.index_keys("app", "db") == ["default/a"]

    store.delete("other/b")
    assert store.by_index("app", "web") == []
    assert sorted(store.index_values("app")) == ["db"]  # emptied values are dropped
    assert store.index_values(NAMESPACE_INDEX) == ["default"]


def test_indexers_added_later_file_existing_objects(kind: type[Store]) -> None:
    store = kind()
    store.upsert(obj("a", app="web"))
    store.add_indexers({"app": by_app})
    assert store.index_keys("app", "web") == ["default/a"]
    with pytest.raises(ValueError, match="already registered"):
        store.add_indexers({"app": by_app})
    with pytest.raises(KeyError, match="no index named 'nope'"):
        store.by_index("nope", "x")


def test_replace_swaps_content_and_rebuilds_indexes(kind: type[Store]) -> None:
    store = kind({"app": by_app})
    old = obj("a", app="web")
    store.upsert(old)
    new = obj("b", app="db")
    assert dict(store.replace({"default/b": new})) == {"default/a": old}
    assert store.list() == [new]
    assert store.index_values("app") == ["db"]
    assert "default/b" in store
    assert store.indexers.keys() == {"app"}


def test_the_plain_store_hands_out_the_objects_it_holds() -> None:
    store = Store()
    first = obj("a")
    store.upsert(first)
    assert store.get("default/a") is first
    assert store.list()[0] is first


def test_the_compact_store_hands_out_fresh_copies() -> None:
    store = CompactStore({NAMESPACE_INDEX: namespace_index})
    given = obj("a", app="web")
    store.upsert(given)
    given["metadata"]["labels"]["app"] = "changed after caching"
    read = store.get("default/a")
    assert read is not None
    assert read["metadata"]["labels"] == {"app": "web"}
    read["metadata"]["labels"]["app"] = "changed by a reader"
    assert store.by_index(NAMESPACE_INDEX, "default") == [obj("a", app="web")]


def test_the_compact_store_keeps_every_digit_of_huge_integers() -> None:
    store = CompactStore()
    huge = 2**70 + 1  # beyond what orjson writes; kept as the standard library's text
    store.upsert({"metadata": {"name": "a"}, "spec": {"seed": huge, "ratio": 0.1}})
    read = store.get("a")
    assert read is not None
    assert read["spec"] == {"seed": huge, "ratio": 0.1}
    assert type(read["spec"]["seed"]) is int


def test_the_compact_store_holds_no_more_than_the_json() -> None:
    store = CompactStore()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(100):
            store.upsert({**obj(f"object-{index}"), "data": {"text": "x" * 1000}})
        held = (tracemalloc.get_traced_memory()[0] - before) / 100
    finally:
        tracemalloc.stop()
    encoded = len(json.dumps({**obj("object-10"), "data": {"text": "x" * 1000}}))
    assert held < 1.5 * encoded  # the bytes, their key and the dict slot; not a 4 KiB buffer


def test_the_revision_moves_with_every_change_and_only_then(kind: type[Store]) -> None:
    store = kind()
    seen = [store.revision]
    store.upsert(obj("a"))
    store.upsert(obj("a", app="x"))
    store.delete("a")  # not there: no change
    seen.append(store.revision)
    store.delete("default/a")
    seen.append(store.revision)
    store.add_indexers({"app": by_app})
    store.get("default/a")
    seen.append(store.revision)
    store.replace({})
    seen.append(store.revision)
    assert seen[0] < seen[1] < seen[2] == seen[3] < seen[4]
