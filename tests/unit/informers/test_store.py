"""The store: keys, upserts and deletes, replacement, and indexes kept current."""

from __future__ import annotations

from typing import Any

import pytest

from ome.informers import NAMESPACE_INDEX, Store, object_key
from ome.informers.store import namespace_index


def obj(name: str, namespace: str | None = "default", **labels: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata}


def by_app(o: dict[str, Any]) -> list[str]:
    app = o["metadata"]["labels"].get("app")
    return [app] if app else []


def test_keys_are_namespace_slash_name_or_name() -> None:
    assert object_key(obj("a", "ns")) == "ns/a"
    assert object_key(obj("node-1", None)) == "node-1"
    with pytest.raises(ValueError, match=r"metadata\.name"):
        object_key({"metadata": {}})


def test_upsert_get_delete_return_what_was_there() -> None:
    store = Store()
    first, second = obj("a"), obj("a", app="x")
    assert store.upsert(first) is None
    assert store.upsert(second) is first
    assert store.get("default/a") is second
    assert store.list_keys() == ["default/a"]
    assert store.delete("default/a") is second
    assert store.delete("default/a") is None
    assert len(store) == 0


def test_indexes_follow_updates_and_deletes() -> None:
    store = Store({NAMESPACE_INDEX: namespace_index, "app": by_app})
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


def test_indexers_added_later_file_existing_objects() -> None:
    store = Store()
    store.upsert(obj("a", app="web"))
    store.add_indexers({"app": by_app})
    assert store.index_keys("app", "web") == ["default/a"]
    with pytest.raises(ValueError, match="already registered"):
        store.add_indexers({"app": by_app})
    with pytest.raises(KeyError, match="no index named 'nope'"):
        store.by_index("nope", "x")


def test_replace_swaps_content_and_rebuilds_indexes() -> None:
    store = Store({"app": by_app})
    old = obj("a", app="web")
    store.upsert(old)
    new = obj("b", app="db")
    assert store.replace({"default/b": new}) == {"default/a": old}
    assert store.list() == [new]
    assert store.index_values("app") == ["db"]
    assert "default/b" in store
    assert store.indexers.keys() == {"app"}
