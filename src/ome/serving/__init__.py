"""The InferenceService controller's domain logic, as pure functions (no I/O).

A reconcile uses it in four steps::

    config = parse_config(configmap_data)              # once per ConfigMap version
    plan = plan_service(service, catalog, config)      # ServingError: Ready=False + Event
    objects = render_objects(plan, available)          # server-side apply each
    status = compute_status(plan, workloads, pods, now)

and ``failed_status(service, error, now)`` when a step raised. ``available`` and
``workloads`` come from the object each ``plan.workloads[i].object_ref`` names (a
Deployment, or a LeaderWorkerSet for a multi-node component): see
:func:`workload_available` and :func:`compute_status`. ``select_runtime`` alone answers
``ome explain``."""

from ome.serving.basemodel import resolve_base_model
from ome.serving.catalog import Catalog, MemoryCatalog
from ome.serving.components import Component
from ome.serving.config import IngressConfig, ServingConfig, parse_config
from ome.serving.deployment_mode import DeploymentMode
from ome.serving.plan import ObjectRef, ServingPlan, Workload, plan_service
from ome.serving.problems import Reason, ServingError
from ome.serving.readiness import workload_available
from ome.serving.render import render_objects
from ome.serving.selection import Candidate, Selection, SelectionError, select_runtime
from ome.serving.status import compute_status, failed_status, is_ready

__all__ = [
    "Candidate",
    "Catalog",
    "Component",
    "DeploymentMode",
    "IngressConfig",
    "MemoryCatalog",
    "ObjectRef",
    "Reason",
    "Selection",
    "SelectionError",
    "ServingConfig",
    "ServingError",
    "ServingPlan",
    "Workload",
    "compute_status",
    "failed_status",
    "is_ready",
    "parse_config",
    "plan_service",
    "render_objects",
    "resolve_base_model",
    "select_runtime",
    "workload_available",
]
