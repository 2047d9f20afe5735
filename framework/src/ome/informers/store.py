"""The cache behind an informer: objects by key, plus named secondary indexes.

Keys are client-go's ``MetaNamespaceKeyFunc``: ``namespace/name``, or ``name`` for
cluster-scoped objects. An index function maps an object to the values it is filed
under (``by_index("namespace", "default")``); the store keeps every index current as
objects come and go, so a lookup costs one dict access instead of a scan.

The store holds the dicts it is given and hands the same dicts out: callers must treat
them as read-only, as client-go asks of its cache. It is not thread-safe; no method
awaits, so on one event loop it needs no lock.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping

from ome.client import KubeObject

IndexFunc = Callable[[KubeObject], Iterable[str]]

NAMESPACE_INDEX = "namespace"


def object_key(obj: KubeObject) -> str:
    """``namespace/name``, or ``name`` for a cluster-scoped object."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name")
    if not name:
        raise ValueError(f"object has no metadata.name: {dict(obj)!r:.200}")
    namespace = metadata.get("namespace")
    return f"{namespace}/{name}" if namespace else str(name)


def namespace_index(obj: KubeObject) -> list[str]:
    namespace = (obj.get("metadata") or {}).get("namespace")
    return [namespace] if namespace else []


class Store:
    """
    State:
        _items     key -> object; the cache itself.
        _indexers  index name -> function giving an object's values for that index.
        _indices   index name -> value -> keys of the objects filed under it. A value
                   with no keys left is removed, so the dicts only hold live values.
        _revision  how many times the content changed; every write files the object in
                   the indexes (``_file``, ``_reindex``), which counts it.
    """

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, KubeObject] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._revision = 0
        self.add_indexers(indexers or {})

    # -- reading ---------------------------------------------------------------------

    def get(self, key: str) -> KubeObject | None:
        return self._items.get(key)

    def list(self) -> builtins.list[KubeObject]:
        return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index_name: str, value: str) -> builtins.list[KubeObject]:
        """The objects filed under ``value`` in the named index, in no particular order."""
        return [self._items[key] for key in self._index(index_name).get(value, ())]

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        return list(self._index(index_name).get(value, ()))

    def index_values(self, index_name: str) -> builtins.list[str]:
        """Every value some object is filed under in the named index."""
        return list(self._index(index_name))

    @property
    def revision(self) -> int:
        """Grows with every change to the content: what a reader derived from the store
        holds while the revision stays the same."""
        return self._revision

    @property
    def indexers(self) -> dict[str, IndexFunc]:
        return dict(self._indexers)

    def _index(self, index_name: str) -> dict[str, set[str]]:
        try:
            return self._indices[index_name]
        except KeyError:
            raise KeyError(f"no index named {index_name!r}") from None

    # -- indexes ---------------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes, filing the objects already cached. Unlike client-go this works
        after the informer started too: the store is only touched on the loop's thread."""
        clashes = sorted(set(indexers) & set(self._indexers))
        if clashes:
            raise ValueError(f"indexers already registered: {', '.join(clashes)}")
        self._indexers.update(indexers)
        self._indices.update({name: {} for name in indexers})
        self._index_all(indexers, self._cached())

    def _cached(self) -> Iterable[tuple[str, KubeObject]]:
        return self._items.items()

    def _index_all(
        self, indexers: Mapping[str, IndexFunc], objects: Iterable[tuple[str, KubeObject]]
    ) -> None:
        pairs = builtins.list(objects)
        for name, function in indexers.items():
            index = self._indices[name]
            for key, obj in pairs:
                for value in function(obj):
                    index.setdefault(value, set()).add(key)

    def _file(self, key: str, old: KubeObject | None, new: KubeObject | None) -> None:
        """Move ``key`` from the values ``old`` is filed under to those of ``new``."""
        self._revision += 1
        for name, function in self._indexers.items():
            before = set(function(old)) if old is not None else set()
            after = set(function(new)) if new is not None else set()
            index = self._indices[name]
            for value in before - after:
                keys = index[value]
                keys.discard(key)
                if not keys:
                    del index[value]
            for value in after - before:
                index.setdefault(value, set()).add(key)

    # -- writing (the informer's job) -------------------------------------------------

    def upsert(self, obj: KubeObject) -> KubeObject | None:
        """Cache ``obj`` under its key; returns the object it replaced, if any."""
        key = object_key(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._file(key, old, obj)
        return old

    def delete(self, key: str) -> KubeObject | None:
        """Forget ``key``; returns the object that was cached, if any."""
        old = self._items.pop(key, None)
        if old is not None:
            self._file(key, old, None)
        return old

    def replace(self, items: dict[str, KubeObject]) -> Mapping[str, KubeObject]:
        """Make ``items`` (key -> object; the store takes it over) the whole content, and
        rebuild the indexes; returns the old content."""
        old = self._items
        self._items = items
        self._reindex(items)
        return old

    def _reindex(self, items: Mapping[str, KubeObject]) -> None:
        self._revision += 1
        self._indices = {name: {} for name in self._indexers}
        self._index_all(self._indexers, items.items())
