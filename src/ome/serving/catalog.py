"""What the serving logic may look up: models, fine-tuned weights, runtimes and
accelerator classes, namespaced and cluster-wide.

The controller implements :class:`Catalog` over its informer caches; the offline commands
and the tests use :class:`MemoryCatalog`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ome.api.meta import ApiObject
from ome.api.v1beta1 import (
    AcceleratorClass,
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    FineTunedWeight,
    ServingRuntime,
)

DEFAULT_NAMESPACE = "default"
"""Where a namespaced object without a namespace lives, as kubectl would place it."""

Model = BaseModel | ClusterBaseModel
Runtime = ServingRuntime | ClusterServingRuntime


class Catalog(Protocol):
    def base_model(self, namespace: str, name: str) -> BaseModel | None: ...

    def cluster_base_model(self, name: str) -> ClusterBaseModel | None: ...

    def serving_runtimes(self, namespace: str) -> Sequence[ServingRuntime]:
        """The namespace's runtimes, in any order."""
        ...

    def cluster_serving_runtimes(self) -> Sequence[ClusterServingRuntime]: ...

    def fine_tuned_weight(self, name: str) -> FineTunedWeight | None: ...

    def accelerator_class(self, name: str) -> AcceleratorClass | None: ...


def name_of(obj: ApiObject) -> str:
    # the API server names every stored object; an unnamed one cannot be referenced
    return obj.metadata.name or ""


def namespace_of(model: Model) -> str | None:
    """None for a ClusterBaseModel: the scope the model-ready node label is keyed on."""
    return (model.metadata.namespace or DEFAULT_NAMESPACE) if isinstance(model, BaseModel) else None


def find_runtime(catalog: Catalog, namespace: str, name: str) -> Runtime | None:
    """A runtime by name: the namespace's ServingRuntime first, then the
    ClusterServingRuntime (upstream's order; ``spec.runtime.kind`` is not consulted)."""
    for scoped in (catalog.serving_runtimes(namespace), catalog.cluster_serving_runtimes()):
        for runtime in scoped:
            if name_of(runtime) == name:
                return runtime
    return None


@dataclass
class MemoryCatalog:
    """A catalogue held in memory, e.g. read from manifest files."""

    base_models: dict[tuple[str, str], BaseModel] = field(default_factory=dict)
    cluster_base_models: dict[str, ClusterBaseModel] = field(default_factory=dict)
    runtimes: dict[str, list[ServingRuntime]] = field(default_factory=dict)
    cluster_runtimes: list[ClusterServingRuntime] = field(default_factory=list)
    fine_tuned_weights: dict[str, FineTunedWeight] = field(default_factory=dict)
    accelerator_classes: dict[str, AcceleratorClass] = field(default_factory=dict)

    @classmethod
    def of(cls, objects: Iterable[ApiObject]) -> MemoryCatalog:
        """The models and runtimes among ``objects`` (others are ignored); a later object
        of the same kind and name replaces an earlier one, as a second apply would."""
        catalog = cls()
        cluster_runtimes: dict[str, ClusterServingRuntime] = {}
        runtimes: dict[tuple[str, str], ServingRuntime] = {}
        for obj in objects:
            name, namespace = name_of(obj), obj.metadata.namespace or DEFAULT_NAMESPACE
            if isinstance(obj, BaseModel):
                catalog.base_models[namespace, name] = obj
            elif isinstance(obj, ClusterBaseModel):
                catalog.cluster_base_models[name] = obj
            elif isinstance(obj, ServingRuntime):
                runtimes[namespace, name] = obj
            elif isinstance(obj, ClusterServingRuntime):
                cluster_runtimes[name] = obj
            elif isinstance(obj, FineTunedWeight):
                catalog.fine_tuned_weights[name] = obj
            elif isinstance(obj, AcceleratorClass):
                catalog.accelerator_classes[name] = obj
        for (namespace, _), runtime in runtimes.items():
            catalog.runtimes.setdefault(namespace, []).append(runtime)
        catalog.cluster_runtimes = list(cluster_runtimes.values())
        return catalog

    def base_model(self, namespace: str, name: str) -> BaseModel | None:
        return self.base_models.get((namespace, name))

    def cluster_base_model(self, name: str) -> ClusterBaseModel | None:
        return self.cluster_base_models.get(name)

    def serving_runtimes(self, namespace: str) -> Sequence[ServingRuntime]:
        return self.runtimes.get(namespace, ())

    def cluster_serving_runtimes(self) -> Sequence[ClusterServingRuntime]:
        return self.cluster_runtimes

    def fine_tuned_weight(self, name: str) -> FineTunedWeight | None:
        return self.fine_tuned_weights.get(name)

    def accelerator_class(self, name: str) -> AcceleratorClass | None:
        return self.accelerator_classes.get(name)


def service_namespace(service: ApiObject) -> str:
    return service.metadata.namespace or DEFAULT_NAMESPACE
