"""InferenceService defaulting (upstream ``inference_service_defaults.go``).

On every create and update:

- without an ``ome.io/deploymentMode`` annotation: engine and decoder →
  ``PDDisaggregated``; an engine with a leader and ``worker.size > 0`` → ``MultiNode``;
  otherwise the configured default when it is ``RawDeployment`` (a Serverless default
  leaves the annotation off, as upstream does);
- a deprecated ``spec.predictor`` in use gets the ``ome.io/deprecation-warning``
  annotation and, unless migration is turned off, is copied into ``spec.engine``,
  ``spec.model`` and ``spec.runtime`` when there is no engine yet (§7.2);
- engine and decoder get ``minReplicas: 1`` and ``maxReplicas: 3``, the router
  ``minReplicas: 1`` and ``maxReplicas: 2``, where unset (a ``maxReplicas`` of 0 counts
  as unset: upstream's field is not a pointer). So scale-to-zero needs an explicit
  ``minReplicas: 0``.

The object is edited as the JSON the client sent, not through the API types, so nothing
but the fields above ever appears in the patch; values of the wrong type are left alone
for validation to report."""

from __future__ import annotations

import copy
from typing import Any

from ome.serving.deployment_mode import DEPLOYMENT_MODE_ANNOTATION, DeploymentMode

PD_DISAGGREGATED = "PDDisaggregated"
DEPRECATION_WARNING_ANNOTATION = "ome.io/deprecation-warning"
DEPRECATION_WARNING = (
    "The Predictor field is deprecated and will be removed in a future release. "
    "Please use Engine and Model fields instead."
)
REPLICA_DEFAULTS = {"engine": (1, 3), "decoder": (1, 3), "router": (1, 2)}
"""(minReplicas, maxReplicas) per component."""

# The predictor fields whose presence means the predictor is in use (upstream's test).
_PREDICTOR_USE = ("minReplicas", "serviceAccountName", "containers", "volumes", "nodeSelector")
_PREDICTOR_USE_ANY = ("tolerations", "affinity")


def default_inference_service(
    obj: dict[str, Any], default_mode: DeploymentMode, *, migrate_predictor: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """A defaulted copy of the InferenceService ``obj`` and warnings for the client."""
    service = copy.deepcopy(obj)
    spec = service.get("spec")
    if not isinstance(spec, dict):
        return service, []
    metadata = service.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        return service, []
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
    warnings: list[str] = []
    mode = _deployment_mode(spec, default_mode)
    if DEPLOYMENT_MODE_ANNOTATION not in annotations and mode is not None:
        annotations[DEPLOYMENT_MODE_ANNOTATION] = mode
    predictor = spec.get("predictor")
    if isinstance(predictor, dict) and _predictor_used(predictor):
        annotations.setdefault(DEPRECATION_WARNING_ANNOTATION, DEPRECATION_WARNING)
        warnings.append("spec.predictor is deprecated: use spec.engine, spec.model, spec.runtime")
        if migrate_predictor and spec.get("engine") is None:
            _migrate(spec, predictor)
            warnings.append("spec.predictor was copied into spec.engine, spec.model, spec.runtime")
    if annotations:
        metadata["annotations"] = annotations
    for component, (min_replicas, max_replicas) in REPLICA_DEFAULTS.items():
        _default_replicas(spec.get(component), min_replicas, max_replicas)
    return service, warnings


def _deployment_mode(spec: dict[str, Any], default_mode: DeploymentMode) -> str | None:
    engine, decoder = spec.get("engine"), spec.get("decoder")
    if engine is not None and decoder is not None:
        return PD_DISAGGREGATED
    if isinstance(engine, dict):
        worker = engine.get("worker")
        size = worker.get("size") if isinstance(worker, dict) else None
        if engine.get("leader") is not None and isinstance(size, int) and size > 0:
            return DeploymentMode.MULTI_NODE.value
    if default_mode is DeploymentMode.RAW_DEPLOYMENT:
        return default_mode.value
    return None


def _default_replicas(component: Any, min_replicas: int, max_replicas: int) -> None:
    if not isinstance(component, dict):
        return
    if component.get("minReplicas") is None:
        component["minReplicas"] = min_replicas
    if component.get("maxReplicas") is None or component.get("maxReplicas") == 0:
        component["maxReplicas"] = max_replicas


def _predictor_used(predictor: dict[str, Any]) -> bool:
    model = predictor.get("model")
    if isinstance(model, dict) and model.get("baseModel") is not None:
        return True
    if predictor.get("minReplicas") is not None:
        return True
    return any(predictor.get(key) for key in _PREDICTOR_USE) or any(
        predictor.get(key) is not None for key in _PREDICTOR_USE_ANY
    )


def _migrate(spec: dict[str, Any], predictor: dict[str, Any]) -> None:
    """Upstream's webhook migration: the predictor's pod and scaling fields become the
    engine, its main container the engine's runner, its workers the engine's workers."""
    engine = {
        key: copy.deepcopy(value)
        for key, value in predictor.items()
        if key not in ("model", "workerSpec")
    }
    containers = [c for c in engine.pop("containers", None) or [] if isinstance(c, dict)]
    if containers:
        main = next((c for c in containers if _is_ome_container(c)), containers[0])
        engine["runner"] = main
        rest = [c for c in containers if c is not main]
        if rest:
            engine["containers"] = rest
    if predictor.get("workerSpec") is not None:
        engine["worker"] = copy.deepcopy(predictor["workerSpec"])
    spec["engine"] = engine
    model = predictor.get("model")
    if not isinstance(model, dict):
        return
    if spec.get("model") is None and isinstance(model.get("baseModel"), str):
        ref: dict[str, Any] = {"name": model["baseModel"], "kind": "ClusterBaseModel"}
        if model.get("fineTunedWeights"):
            ref["fineTunedWeights"] = copy.deepcopy(model["fineTunedWeights"])
        spec["model"] = ref
    if spec.get("runtime") is None and isinstance(model.get("runtime"), str):
        spec["runtime"] = {"name": model["runtime"], "kind": "ClusterServingRuntime"}


def _is_ome_container(container: dict[str, Any]) -> bool:
    name = container.get("name")
    return isinstance(name, str) and (name == "ome-container" or "ome" in name.lower())
