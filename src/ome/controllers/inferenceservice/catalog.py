"""``ome.serving.Catalog`` over the informer stores of models, fine-tuned weights,
runtimes and accelerator classes.

Each cached object is validated once per resourceVersion
(:class:`ome.informers.ModelStore`); the validated models are shared between reconciles
and must be treated as read-only."""

from __future__ import annotations

from collections.abc import Sequence

from ome.api.v1beta1 import (
    AcceleratorClass,
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    FineTunedWeight,
    ServingRuntime,
)
from ome.informers import ModelStore, Store


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
        self._base_models = ModelStore(base_models, BaseModel)
        self._cluster_base_models = ModelStore(cluster_base_models, ClusterBaseModel)
        self._runtimes = ModelStore(serving_runtimes, ServingRuntime)
        self._cluster_runtimes = ModelStore(cluster_serving_runtimes, ClusterServingRuntime)
        # optional: a catalogue without weights finds none
        self._weights = None
        if fine_tuned_weights is not None:
            self._weights = ModelStore(fine_tuned_weights, FineTunedWeight)
        self._classes = None
        if accelerator_classes is not None:
            self._classes = ModelStore(accelerator_classes, AcceleratorClass)

    def base_model(self, namespace: str, name: str) -> BaseModel | None:
        return self._base_models.get(f"{namespace}/{name}")

    def cluster_base_model(self, name: str) -> ClusterBaseModel | None:
        return self._cluster_base_models.get(name)

    def serving_runtimes(self, namespace: str) -> Sequence[ServingRuntime]:
        return self._runtimes.in_namespace(namespace)

    def cluster_serving_runtimes(self) -> Sequence[ClusterServingRuntime]:
        return self._cluster_runtimes.in_namespace(None)

    def runtimes_revision(self) -> tuple[int, int]:
        """Changes when any ServingRuntime or ClusterServingRuntime does."""
        return (self._runtimes.store.revision, self._cluster_runtimes.store.revision)

    def fine_tuned_weight(self, name: str) -> FineTunedWeight | None:
        return self._weights.get(name) if self._weights is not None else None

    def accelerator_class(self, name: str) -> AcceleratorClass | None:
        return self._classes.get(name) if self._classes is not None else None
