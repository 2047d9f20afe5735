"""InferenceService validation (upstream ``inference_service_validation.go``).

In order, each refusal naming the field at fault:

1. the object must be a valid InferenceService of the API types (``ome.api``): with the
   full CRDs the API server has checked this already, with the minimal CRDs (no schema)
   this is the only check;
2. the name matches ``[a-z]([-a-z0-9]*[a-z0-9])?`` (stricter than the API server: no dots);
3. the autoscaler annotations (:mod:`ome.webhooks.autoscaling`);
4. a decoder needs an engine; each component's ``canaryTrafficPercent`` is a 0-100
   percentage; ``ome.io/inference-pool-endpoint-picker`` names a Service (and port);
5. ``spec.model`` must name an existing model (as the controller resolves it: see
   :func:`ome.serving.resolve_base_model`), and its ``fineTunedWeights`` must be weights
   of that model, listed once, a merged weight alone (a weight not found, disabled or not
   yet downloaded is only a warning);
6. when an engine is declared, no runtime is named and the engine has no complete runner
   (an image on the runner, or on both the leader's and the worker's), a model is
   required, must be enabled, and a runtime must be selectable for it.

Checks 5 and 6 read other objects (the catalogue); the caller skips them when only the
metadata changed, so an InferenceService whose model was deleted can still get its
finalizer removed. Problems a named runtime has are warnings, not refusals (upstream does
not check it at admission: the runtime may be created after the service)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ome.api.v1beta1 import KINDS, EngineSpec, InferenceService
from ome.api.validation import validate_object
from ome.serving import Catalog, ServingError, resolve_base_model, select_runtime
from ome.serving.adapters import resolve_fine_tuning
from ome.serving.catalog import Model
from ome.serving.endpointpicker import ENDPOINT_PICKER_ANNOTATION, endpoint_picker
from ome.serving.problems import Reason
from ome.webhooks.autoscaling import annotation_field, autoscaler_causes
from ome.webhooks.review import Cause

NAME_FORMAT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_NAME = re.compile(NAME_FORMAT)


def schema_causes(obj: Any, kind: str) -> tuple[list[Cause], Any]:
    """The object's problems as the API types see them, and the validated model.

    ``status`` is left out: a main-resource write cannot change it, and what a controller
    stored there must not block a later update of the spec or the finalizers."""
    content = obj
    if isinstance(obj, dict) and "status" in obj:
        content = {key: value for key, value in obj.items() if key != "status"}
    outcome = validate_object(content, KINDS)
    if outcome.status == "valid" and outcome.kind == kind:
        return [], outcome.model
    if outcome.status in ("valid", "skipped"):
        return [Cause("kind", f"expected {kind}, got {outcome.kind or 'no kind'}")], None
    return [_cause(problem) for problem in outcome.problems], None


def _cause(problem: str) -> Cause:
    field, _, message = problem.partition(": ")
    return Cause(field, message) if message else Cause("", problem)


@dataclass(frozen=True)
class Findings:
    causes: list[Cause]
    """Empty: admit."""
    warnings: list[str]
    from_catalog: bool = False
    """The causes come from checks 5 and 6: a cache that lags behind may be why."""


def validate_inference_service(obj: Any, catalog: Catalog | None) -> Findings:
    """Problems and warnings; ``catalog`` None skips checks 5 and 6."""
    causes, service = schema_causes(obj, InferenceService.KIND)
    if service is None:
        return Findings(causes, [])
    assert isinstance(service, InferenceService)
    warnings: list[str] = []
    name = service.metadata.name or ""
    if name and not _NAME.fullmatch(name):
        message = f"invalid InferenceService name {name!r}, must match {NAME_FORMAT!r}"
        causes.append(Cause("metadata.name", message))
    autoscaler, advice = autoscaler_causes(service)
    causes += autoscaler
    warnings += advice
    if service.spec.decoder is not None and service.spec.engine is None:
        causes.append(Cause("spec.decoder", "decoder cannot be specified without engine"))
    causes += _canary_causes(service)
    causes += _endpoint_picker_causes(service)
    if catalog is None or causes:
        return Findings(causes, warnings)
    references, advice = _reference_causes(service, catalog)
    return Findings(references, warnings + advice, from_catalog=bool(references))


CANARY_COMPONENTS = ("predictor", "engine", "decoder", "router")


def _canary_causes(service: InferenceService) -> list[Cause]:
    """A traffic share outside 0-100 cannot be split: refused on the component's field."""
    causes = []
    for name in CANARY_COMPONENTS:
        component = getattr(service.spec, name)
        percent = component.canary_traffic_percent if component is not None else None
        if percent is not None and not 0 <= percent <= 100:
            message = f"canaryTrafficPercent must be between 0 and 100 (got {percent})"
            causes.append(Cause(f"spec.{name}.canaryTrafficPercent", message))
    return causes


def _endpoint_picker_causes(service: InferenceService) -> list[Cause]:
    try:
        endpoint_picker(service.metadata.annotations)
    except ServingError as err:
        return [Cause(annotation_field(ENDPOINT_PICKER_ANNOTATION), err.message)]
    return []


def _reference_causes(service: InferenceService, catalog: Catalog) -> tuple[list[Cause], list[str]]:
    spec = service.spec
    causes: list[Cause] = []
    warnings: list[str] = []
    model: Model | None = None
    if spec.model is not None and spec.model.name:
        model, problem = _resolve(service, catalog, warnings)
        if problem is not None:
            causes.append(problem)
    runtime_named = spec.runtime is not None and bool(spec.runtime.name)
    needs_runtime = spec.engine is not None and not runtime_named
    needs_runtime = needs_runtime and not has_full_runner(spec.engine)
    if needs_runtime:
        if spec.model is None:
            causes.append(
                Cause(
                    "spec.model",
                    "model reference is required when runtime is not specified and engine "
                    "does not have complete runner configuration",
                )
            )
        elif model is not None:
            causes += _auto_selection(service, model, catalog, warnings)
    elif model is not None and not model.spec.disabled:
        _check_quietly(service, model, catalog, warnings)
    return causes, warnings


def _resolve(
    service: InferenceService, catalog: Catalog, warnings: list[str]
) -> tuple[Model | None, Cause | None]:
    """The model, or what is wrong with the reference. A disabled model resolves (the
    caller decides)."""
    assert service.spec.model is not None
    try:
        model = resolve_base_model(service, catalog)
    except ServingError as err:
        if err.reason is Reason.BASE_MODEL_DISABLED:
            return _disabled_model(service, catalog), None
        field = (
            "spec.model.kind" if err.reason is Reason.UNSUPPORTED_MODEL_KIND else "spec.model.name"
        )
        return None, Cause(field, f"referenced model not found: {err.message}")
    return model, _fine_tuning_cause(service, model, catalog, warnings)


def _fine_tuning_cause(
    service: InferenceService, model: Model, catalog: Catalog, warnings: list[str]
) -> Cause | None:
    """A weight of another base model, or a list that cannot be served, is refused; a
    weight that does not exist yet, is disabled or not yet downloaded is a warning (it may
    be created or fixed after the service)."""
    try:
        resolve_fine_tuning(service, model, catalog)
    except ServingError as err:
        if err.reason in _REFUSED_FINE_TUNING:
            return Cause("spec.model.fineTunedWeights", err.message)
        warnings.append(f"the service will not be ready until this is fixed: {err.message}")
    return None


_REFUSED_FINE_TUNING = frozenset(
    {Reason.FINE_TUNED_WEIGHT_MISMATCH, Reason.INVALID_FINE_TUNED_WEIGHTS}
)


def _disabled_model(service: InferenceService, catalog: Catalog) -> Model | None:
    assert service.spec.model is not None
    name, namespace = service.spec.model.name, service.metadata.namespace or "default"
    if service.spec.model.kind == "BaseModel":
        return catalog.base_model(namespace, name)
    if service.spec.model.kind == "ClusterBaseModel":
        return catalog.cluster_base_model(name)
    return catalog.base_model(namespace, name) or catalog.cluster_base_model(name)


def _auto_selection(
    service: InferenceService, model: Model, catalog: Catalog, warnings: list[str]
) -> list[Cause]:
    name = model.metadata.name
    if model.spec.disabled:
        return [Cause("spec.model.name", f"model {name} is disabled")]
    try:
        selection = select_runtime(service, model, catalog)
    except ServingError as err:
        message = (
            f"no supporting runtime found for model {name} and engine does not have complete "
            f"runner configuration: {err.message}"
        )
        return [Cause("spec.runtime", message)]
    warnings.append(f"Runtime {selection.name} will be auto-selected for model {name}")
    return []


def _check_quietly(
    service: InferenceService, model: Model, catalog: Catalog, warnings: list[str]
) -> None:
    """What the controller will say about the runtime, as a warning only."""
    try:
        select_runtime(service, model, catalog)
    except ServingError as err:
        warnings.append(f"the service will not be ready until this is fixed: {err.message}")


def has_full_runner(engine: EngineSpec | None) -> bool:
    """Upstream's ``hasFullRunnerConfig``: the engine brings its own image."""
    if engine is None:
        return False
    if engine.runner is not None and engine.runner.image:
        return True
    if engine.leader is not None and engine.worker is not None:
        leader, worker = engine.leader.runner, engine.worker.runner
        return bool(leader and leader.image and worker and worker.image)
    return False
