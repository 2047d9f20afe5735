"""A store that keeps each object as its JSON bytes and decodes it on every read.

A decoded custom resource costs CPython several times its JSON (a small
InferenceService: about 1.9x the JSON the server sends even with field names interned,
most of it the dicts themselves), while its compact JSON, without managedFields, is about
half of what the server sends. The price is the reads: a ``get`` decodes (about a
microsecond per 500 bytes with orjson) where the plain store answers from a dict, and
every read hands out a fresh object, which the caller may change without touching the
cache. Meant for kinds with many objects that are read a few at a time; a kind listed
whole on every reconcile is cheaper in the plain store.

Indexes are kept from the decoded objects as they arrive, as in the plain store.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator, Mapping

import orjson

from ome.client import KubeObject
from ome.informers.store import IndexFunc, Store, object_key

# orjson reads integers beyond 64 bits as floats and refuses to write them; an object
# carrying one is kept as the standard library's text, which keeps every digit.
Encoded = bytes | str


def encode(obj: KubeObject) -> Encoded:
    try:
        # orjson hands back its whole write buffer (4 KiB for a small object): the copy
        # keeps only the bytes written
        return memoryview(orjson.dumps(obj)).tobytes()
    except TypeError:
        return json.dumps(obj, separators=(",", ":"))


def decode(data: Encoded) -> KubeObject:
    decoded: KubeObject = orjson.loads(data) if type(data) is bytes else json.loads(data)
    return decoded


class Decoded(Mapping[str, KubeObject]):
    """Encoded objects by key, decoded as they are read (the old content a relist
    replaced: the informer reads only the objects it reports on)."""

    def __init__(self, items: Mapping[str, Encoded]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> KubeObject:
        return decode(self._items[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class CompactStore(Store):
    """
    State (beyond :class:`Store`'s indexes):
        _encoded  key -> the object's JSON; the cache itself (the plain store's
                  ``_items`` stays empty).
    """

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._encoded: dict[str, Encoded] = {}
        super().__init__(indexers)

    def get(self, key: str) -> KubeObject | None:
        data = self._encoded.get(key)
        return None if data is None else decode(data)

    def list(self) -> builtins.list[KubeObject]:
        return [decode(data) for data in self._encoded.values()]

    def list_keys(self) -> builtins.list[str]:
        return list(self._encoded)

    def __len__(self) -> int:
        return len(self._encoded)

    def __contains__(self, key: object) -> bool:
        return key in self._encoded

    def by_index(self, index_name: str, value: str) -> builtins.list[KubeObject]:
        return [decode(self._encoded[key]) for key in self._index(index_name).get(value, ())]

    def _cached(self) -> Iterable[tuple[str, KubeObject]]:
        return Decoded(self._encoded).items()

    def upsert(self, obj: KubeObject) -> KubeObject | None:
        key = object_key(obj)
        previous = self._encoded.get(key)
        old = None if previous is None else decode(previous)
        self._encoded[key] = encode(obj)
        self._file(key, old, obj)
        return old

    def delete(self, key: str) -> KubeObject | None:
        previous = self._encoded.pop(key, None)
        if previous is None:
            return None
        old = decode(previous)
        self._file(key, old, None)
        return old

    def replace(self, items: dict[str, KubeObject]) -> Mapping[str, KubeObject]:
        old = Decoded(self._encoded)
        self._encoded = {key: encode(obj) for key, obj in items.items()}
        self._reindex(items)
        return old
