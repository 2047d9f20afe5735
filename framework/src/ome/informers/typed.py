"""Typed reads of a cache: an informer's store seen through a pydantic model.

    services = ModelStore(manager.informer(INFERENCESERVICE).store, InferenceService)
    service = services.get("default/llama")         # InferenceService | None

Each cached object is parsed once per resourceVersion and the model kept, so reading it
again costs a dict lookup; the models are shared by every reader and must be treated as
read-only, like the cache itself. An object the model refuses is skipped (``get`` answers
None), as the API server would have refused it had its schema been the model's.
"""

from __future__ import annotations

import builtins
from typing import Generic, TypeVar

import pydantic

from ome.client import KubeObject
from ome.informers.store import Store, object_key

M = TypeVar("M", bound=pydantic.BaseModel)
# Parsed models of deleted objects are dropped once the memo holds this many times as
# many entries as the store holds objects (and at least MIN_MEMO).
MEMO_SLACK = 2
MIN_MEMO = 16


class ModelStore(Generic[M]):
    """A read view of ``store`` that yields ``model`` instances."""

    def __init__(self, store: Store, model: type[M]) -> None:
        self.store = store
        self.model = model
        self._memo: dict[str, tuple[str, M | None]] = {}

    def get(self, key: str) -> M | None:
        """The object cached under ``key`` ("namespace/name", or "name"), parsed."""
        obj = self.store.get(key)
        if obj is None:
            self._memo.pop(key, None)
            return None
        return self._parse(key, obj)

    def list(self) -> builtins.list[M]:
        """Every cached object the model accepts."""
        return self._parse_all(self.store.list())

    def in_namespace(self, namespace: str | None) -> builtins.list[M]:
        """The objects of one namespace (None: every object)."""
        objects = self.store.list()
        if namespace is not None:
            objects = [o for o in objects if o.get("metadata", {}).get("namespace") == namespace]
        return self._parse_all(objects)

    def by_index(self, index_name: str, value: str) -> builtins.list[M]:
        """The objects filed under ``value`` in the store's named index."""
        return self._parse_all(self.store.by_index(index_name, value))

    def _parse_all(self, objects: builtins.list[KubeObject]) -> builtins.list[M]:
        parsed = [self._parse(object_key(obj), obj) for obj in objects]
        self._forget_deleted()
        return [model for model in parsed if model is not None]

    def _parse(self, key: str, obj: KubeObject) -> M | None:
        version = str(obj.get("metadata", {}).get("resourceVersion", ""))
        memo = self._memo.get(key)
        if memo is not None and memo[0] == version and version:
            return memo[1]
        try:
            parsed: M | None = self.model.model_validate(obj)
        except pydantic.ValidationError:
            parsed = None
        self._memo[key] = (version, parsed)
        return parsed

    def _forget_deleted(self) -> None:
        if len(self._memo) > MEMO_SLACK * max(len(self.store), MIN_MEMO):
            self._memo = {k: v for k, v in self._memo.items() if k in self.store}
