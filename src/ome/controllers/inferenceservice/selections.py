"""Runtime selection remembered between reconciles.

Selecting a runtime judges every runtime in the catalogue (upstream ships 203), while the
services of a cluster share a few models. The answer depends only on the service's
namespace, the runtime it names, the accelerator classes it asks for, the model, and the
runtimes; so it is kept per those, the model at its resourceVersion, until any runtime
changes. A service that cannot be served is judged again each time: its error is the slow
path, and names the service.

A selection is kept with the winner's verdict alone: the reconcile reads no other, and
every runtime's verdict for every model would hold a few megabytes for nothing
(``ome explain`` and ``ome status``, which show them all, select afresh)."""

from __future__ import annotations

from dataclasses import replace

from ome.api.v1beta1 import InferenceService
from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.serving.catalog import Model, name_of, service_namespace
from ome.serving.matching import required_accelerator_classes
from ome.serving.selection import Selection, select_runtime

MAX_REMEMBERED = 4096
"""Selections kept at once; past it the memory starts again (models that changed leave
entries for their old versions behind)."""

_Key = tuple[str, str, frozenset[str], str, str | None, str, str]


class RememberedSelections:
    """``select_runtime`` over ``catalog``, answered from memory where it can be."""

    def __init__(self, catalog: StoreCatalog) -> None:
        self.catalog = catalog
        self._revision: tuple[int, int] | None = None
        self._selections: dict[_Key, Selection] = {}

    def select(self, service: InferenceService, model: Model) -> Selection:
        version = model.metadata.resource_version
        if not version:  # not from the cache: nothing tells its changes apart
            return select_runtime(service, model, self.catalog)
        revision = self.catalog.runtimes_revision()
        if revision != self._revision or len(self._selections) >= MAX_REMEMBERED:
            self._selections.clear()
            self._revision = revision
        named = service.spec.runtime.name if service.spec.runtime is not None else None
        key = (
            service_namespace(service),
            named or "",
            required_accelerator_classes(service),
            model.KIND,
            model.metadata.namespace,
            name_of(model),
            version,
        )
        selection = self._selections.get(key)
        if selection is None:
            selection = select_runtime(service, model, self.catalog)
            selection = replace(selection, candidates=selection.candidates[:1])
            self._selections[key] = selection
        return selection
