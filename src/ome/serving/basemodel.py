"""Which model an InferenceService serves: ``spec.model`` resolved to a BaseModel or a
ClusterBaseModel.

Unlike upstream's main reconcile, which ignores ``spec.model.kind`` (namespaced BaseModel
first, then ClusterBaseModel), the kind is honoured: ``BaseModel`` looks only in the
service's namespace, ``ClusterBaseModel`` (the API default) only cluster-wide. Upstream's
ModelConfig step already honours it, so a namespaced model referenced without
``kind: BaseModel`` failed there; here it fails at once, with a hint. Only a kind left
empty falls back to upstream's order."""

from __future__ import annotations

from ome.api.v1beta1 import InferenceService
from ome.serving.catalog import Catalog, Model, service_namespace
from ome.serving.problems import Reason, ServingError

BASE_MODEL = "BaseModel"
CLUSTER_BASE_MODEL = "ClusterBaseModel"


def resolve_base_model(service: InferenceService, catalog: Catalog) -> Model:
    """The enabled model the service names; :class:`ServingError` otherwise."""
    ref = service.spec.model
    if ref is None or not ref.name:
        raise ServingError(Reason.MODEL_REF_MISSING, "spec.model.name is required")
    name, namespace = ref.name, service_namespace(service)
    model: Model | None
    if ref.kind == BASE_MODEL:
        model = catalog.base_model(namespace, name)
        missing = f"no BaseModel {name!r} in namespace {namespace!r}"
    elif ref.kind == CLUSTER_BASE_MODEL:
        model = catalog.cluster_base_model(name)
        missing = f"no ClusterBaseModel {name!r}"
        if model is None and catalog.base_model(namespace, name) is not None:
            missing += f" (a BaseModel of that name is in {namespace!r}: set kind: BaseModel)"
    elif not ref.kind:
        model = catalog.base_model(namespace, name) or catalog.cluster_base_model(name)
        missing = f"no BaseModel {name!r} in namespace {namespace!r} nor ClusterBaseModel"
    else:
        raise ServingError(
            Reason.UNSUPPORTED_MODEL_KIND,
            f"spec.model.kind {ref.kind!r} is not supported: use BaseModel or ClusterBaseModel",
        )
    if model is None:
        raise ServingError(Reason.BASE_MODEL_NOT_FOUND, missing)
    if model.spec.disabled:
        raise ServingError(Reason.BASE_MODEL_DISABLED, f"base model {name!r} is disabled")
    return model
