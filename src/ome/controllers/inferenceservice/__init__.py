"""The InferenceService controller: plans each service with ``ome.serving``, applies its
children, and reports its status (see docs/controllers.md)."""

from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.reconciler import (
    CONFIG_NAME,
    FIELD_MANAGER,
    FINALIZER,
    InferenceServiceReconciler,
)
from ome.controllers.inferenceservice.setup import CONTROLLER_NAME, setup

__all__ = [
    "CONFIG_NAME",
    "CONTROLLER_NAME",
    "FIELD_MANAGER",
    "FINALIZER",
    "InferenceServiceReconciler",
    "StoreCatalog",
    "setup",
]
