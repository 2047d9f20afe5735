"""``ome.serving.Catalog`` over the informer stores of models, fine-tuned weights,
runtimes and accelerator classes.

Each cached dict is validated once per resourceVersion; the validated models are shared
between reconciles and must be treated as read-only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ome.api.meta import ApiObject
from ome.api.v1beta1 import (
    AcceleratorClass,
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    FineTunedWeight,
    ServingRuntime,
)
from ome.informers import Store

T = TypeVar("T", bound=ApiObject)


class ValidatedStore(Generic[T]):
    """A read view of one informer store that yields validated API models; objects that
    fail validation are skipped (as the API server would have refused them)."""

    def __init__(self, store: Store, model: type[T]) -> None:
        self.store = store
        self.model = model
        self._cache: dict[str, tuple[str, T | None]] = {}

    def _validate(self, key: str, obj: Mapping[str, Any]) -> T | None:
        version = str(obj.get("metadata", {}).get("resourceVersion", ""))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version and version:
            return cached[1]
        try:
            validated: T | None = self.model.model_validate(obj)
        except ValidationError:
            validated = None
        self._cache[key] = (version, validated)
        return validated

    def get(self, key: str) -> T | None:
        obj = self.store.get(key)
        if obj is None:
            self._cache.pop(key, None)
            return None
        return self._validate(key, obj)

    def in_namespace(self, namespace: str | None) -> list[T]:
        found = []
        for obj in self.store.list():
            meta = obj.get("metadata", {})
            if namespace is not None and meta.get("namespace") != namespace:
                continue
            key = f"{meta['namespace']}/{meta['name']}" if namespace else meta["name"]
            validated = self._validate(key, obj)
            if validated is not None:
                found.append(validated)
        self._forget_deleted()
        return found

    def _forget_deleted(self) -> None:
        if len(self._cache) > 2 * max(len(self.store), 16):
            self._cache = {k: v for k, v in self._cache.items() if k in self.store}


class StoreCatalog:
    """The catalogue as the caches hold it now."""

    def __init__(
        self,
        base_models: Store,
        cluster_base_models: Store,
        serving_runtimes: Store,
        cluster_serving_runtimes: Store,
        *,
        fine_tuned_weights: Store | None = None,
        accelerator_classes: Store | None = None,
    ) -> None:
        self._base_models = ValidatedStore(base_models, BaseModel)
        self._cluster_base_models = ValidatedStore(cluster_base_models, ClusterBaseModel)
        self._runtimes = ValidatedStore(serving_runtimes, ServingRuntime)
        self._cluster_runtimes = ValidatedStore(cluster_serving_runtimes, ClusterServingRuntime)
        # optional: a catalogue without weights finds none
        self._weights = None
        if fine_tuned_weights is not None:
            self._weights = ValidatedStore(fine_tuned_weights, FineTunedWeight)
        self._classes = None
        if accelerator_classes is not None:
            self._classes = ValidatedStore(accelerator_classes, AcceleratorClass)

    def base_model(self, namespace: str, name: str) -> BaseModel | None:
        return self._base_models.get(f"{namespace}/{name}")

    def cluster_base_model(self, name: str) -> ClusterBaseModel | None:
        return self._cluster_base_models.get(name)

    def serving_runtimes(self, namespace: str) -> Sequence[ServingRuntime]:
        return self._runtimes.in_namespace(namespace)

    def cluster_serving_runtimes(self) -> Sequence[ClusterServingRuntime]:
        return self._cluster_runtimes.in_namespace(None)

    def fine_tuned_weight(self, name: str) -> FineTunedWeight | None:
        return self._weights.get(name) if self._weights is not None else None

    def accelerator_class(self, name: str) -> AcceleratorClass | None:
        return self._classes.get(name) if self._classes is not None else None
