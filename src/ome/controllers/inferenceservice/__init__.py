"""The InferenceService controller: plans each service with ``ome.serving``, applies its
children, and reports its status (see docs/controllers.md)."""

from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.reconciler import (
    FIELD_MANAGER,
    FINALIZER,
    InferenceServiceReconciler,
)
from ome.controllers.inferenceservice.setup import (
    CACHED_IN_QUANTITY,
    CONTROLLER_NAME,
    config_informer,
    setup,
)
from ome.serving.config import CONFIGMAP_NAME as CONFIG_NAME

__all__ = [
    "CACHED_IN_QUANTITY",
    "CONFIG_NAME",
    "CONTROLLER_NAME",
    "FIELD_MANAGER",
    "FINALIZER",
    "InferenceServiceReconciler",
    "StoreCatalog",
    "config_informer",
    "setup",
]
