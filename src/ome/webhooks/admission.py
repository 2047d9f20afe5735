"""The webhooks: an AdmissionReview request in, a verdict out.

Everything the verdicts depend on besides the request comes from three read-only
sources given at construction (the informer caches in the operator, plain values in the
tests): the catalogue of models and runtimes, the ``inferenceservice-config`` data, and
the names of the AcceleratorClasses. No call does I/O, so a handler never waits."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ome.api.v1beta1 import ClusterServingRuntime, ServingRuntime
from ome.serving import Catalog, ServingError, parse_config
from ome.serving.catalog import DEFAULT_NAMESPACE, Runtime
from ome.serving.config import gateway_ref, uses_gateway_api
from ome.serving.dedicated import DAC_ANNOTATION, joined_pod, profile_name
from ome.serving.metrics_aggregation import parse_metrics_aggregation
from ome.webhooks import configuration as paths
from ome.webhooks.benchmarkjob import validate_benchmark_job
from ome.webhooks.dedicatedaicluster import Profiles, validate_dedicated_ai_cluster
from ome.webhooks.defaulting import default_inference_service
from ome.webhooks.finetunedweight import deletion_cause, validate_fine_tuned_weight
from ome.webhooks.inferenceservice import validate_inference_service
from ome.webhooks.jsonpatch import diff
from ome.webhooks.pods import mutate_pod
from ome.webhooks.review import Cause, Request, Verdict
from ome.webhooks.servingruntime import ACCELERATOR_CLASSES_FIELD, validate_runtime

MIGRATION_ENV = "ENABLE_PREDICTOR_MIGRATION"
"""Upstream's switch: ``false`` turns the predictor → engine migration off."""

ConfigData = Callable[[], Mapping[str, str] | None]


def _no_config() -> Mapping[str, str] | None:
    return None


@dataclass
class Admission:
    """The webhooks over a catalogue, the operator config and the accelerator classes."""

    catalog: Catalog
    config_data: ConfigData = _no_config
    accelerator_classes: Callable[[], Collection[str]] | None = None
    weight_users: Callable[[str], Collection[str]] | None = None
    """The InferenceServices (namespace/name) naming a FineTunedWeight; None: not known,
    so deletions are not checked."""
    dac_profiles: Profiles | None = None
    """DedicatedAIClusterProfiles by name; None: not known, so DACs are not checked."""
    dacs: Profiles | None = None
    """DedicatedAIClusters by name, for the pods that join them."""
    migrate_predictor: bool = field(
        default_factory=lambda: os.environ.get(MIGRATION_ENV, "") != "false"
    )

    def handler(self, path: str) -> Callable[[Request], Verdict] | None:
        return {
            paths.MUTATE_INFERENCESERVICE: self.mutate_inference_service,
            paths.MUTATE_POD: self.mutate_pod,
            paths.VALIDATE_INFERENCESERVICE: self.validate_inference_service,
            paths.VALIDATE_SERVINGRUNTIME: self.validate_serving_runtime,
            paths.VALIDATE_CLUSTERSERVINGRUNTIME: self.validate_cluster_serving_runtime,
            paths.VALIDATE_FINETUNEDWEIGHT: self.validate_fine_tuned_weight,
            paths.VALIDATE_BENCHMARKJOB: self.validate_benchmark_job,
            paths.VALIDATE_DEDICATEDAICLUSTER: self.validate_dedicated_ai_cluster,
            paths.MUTATE_DAC_POD: self.mutate_dac_pod,
        }.get(path)

    # -- InferenceService ------------------------------------------------------------

    def mutate_inference_service(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None or _deleting(obj):
            return Verdict.allow()
        try:
            config = parse_config(_deploy_only(self.config_data()))
        except ServingError as err:
            return Verdict.error(500, f"cannot default the InferenceService: {err.message}")
        defaulted, warnings = default_inference_service(
            obj, config.default_deployment_mode, migrate_predictor=self.migrate_predictor
        )
        return Verdict.allow(warnings, diff(obj, defaulted))

    def validate_inference_service(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None or _deleting(obj):
            return Verdict.allow()
        obj = _with_namespace(obj, request)
        # References are checked when the spec is written, not on metadata-only updates
        # (finalizers, labels): those must not fail because a model went away.
        changed = request.operation == "CREATE" or _spec(request.old_object) != _spec(obj)
        found = validate_inference_service(obj, self.catalog if changed else None)
        if changed:
            found = replace(found, causes=found.causes + _ingress_causes(obj, self.config_data()))
        if not found.causes:
            return Verdict.allow(found.warnings)
        verdict = Verdict.deny(found.causes, found.warnings)
        return replace(verdict, transient=found.from_catalog)

    # -- pods ------------------------------------------------------------------------

    def mutate_pod(self, request: Request) -> Verdict:
        """The pods of an InferenceService completed as upstream's pod mutator does."""
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None:
            return Verdict.allow()
        try:
            mutated = mutate_pod(obj, parse_metrics_aggregation(self.config_data()))
        except ServingError as err:
            return Verdict.error(500, f"cannot complete the pod: {err.message}")
        return Verdict.allow(patch=diff(obj, mutated))

    # -- runtimes --------------------------------------------------------------------

    def validate_serving_runtime(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None:
            return Verdict.allow()
        obj = _with_namespace(obj, request)
        namespace = obj["metadata"].get("namespace") or DEFAULT_NAMESPACE
        others = self.catalog.serving_runtimes(namespace)
        return self._runtime(obj, ServingRuntime.KIND, others)

    def validate_cluster_serving_runtime(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None:
            return Verdict.allow()
        others = self.catalog.cluster_serving_runtimes()
        return self._runtime(obj, ClusterServingRuntime.KIND, others)

    def _runtime(self, obj: dict[str, Any], kind: str, others: Collection[Runtime]) -> Verdict:
        if _deleting(obj):
            return Verdict.allow()
        known = self.accelerator_classes() if self.accelerator_classes is not None else None
        causes = validate_runtime(obj, kind, list(others), known)
        if not causes:
            return Verdict.allow()
        # an AcceleratorClass created with the runtime may not be cached yet
        lagging = all(c.field == ACCELERATOR_CLASSES_FIELD for c in causes)
        return replace(Verdict.deny(causes), transient=lagging)

    # -- fine-tuned weights ----------------------------------------------------------

    def validate_fine_tuned_weight(self, request: Request) -> Verdict:
        if request.operation == "DELETE":
            name = request.name or ""
            users = self.weight_users(name) if self.weight_users is not None else ()
            cause = deletion_cause(name, users)
            return Verdict.deny([cause]) if cause is not None else Verdict.allow()
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None or _deleting(obj):
            return Verdict.allow()
        causes, warnings = validate_fine_tuned_weight(obj, self.catalog)
        return Verdict.deny(causes, warnings) if causes else Verdict.allow(warnings)

    # -- benchmarks ------------------------------------------------------------------

    def validate_benchmark_job(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None or _deleting(obj):
            return Verdict.allow()
        causes, warnings = validate_benchmark_job(obj)
        return Verdict.deny(causes, warnings) if causes else Verdict.allow(warnings)

    # -- dedicated AI clusters -------------------------------------------------------

    def validate_dedicated_ai_cluster(self, request: Request) -> Verdict:
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        if obj is None or _deleting(obj) or self.dac_profiles is None:
            return Verdict.allow()
        old = request.old_object if isinstance(request.old_object, dict) else None
        causes = validate_dedicated_ai_cluster(obj, old, self.dac_profiles)
        if not causes:
            return Verdict.allow()
        # a profile created with the DAC may not be cached yet
        return replace(Verdict.deny(causes), transient=causes[0].field == "spec.profile")

    def mutate_dac_pod(self, request: Request) -> Verdict:
        """A pod annotated ``ome.io/dedicated-ai-cluster`` placed on the DAC's reservation."""
        obj = _writable_object(request)
        if isinstance(obj, Verdict):
            return obj
        annotations = (obj or {}).get("metadata", {}).get("annotations") or {}
        if obj is None or DAC_ANNOTATION not in annotations:
            return Verdict.allow()
        name = str(annotations[DAC_ANNOTATION])
        dac = self.dacs(name) if self.dacs is not None else None
        wanted = profile_name(dac) if dac is not None else None
        profile = self.dac_profiles(wanted) if wanted and self.dac_profiles else None
        joined, warning = joined_pod(obj, dac, profile)
        return Verdict.allow([warning] if warning else [], diff(obj, joined))


def _writable_object(request: Request) -> dict[str, Any] | Verdict | None:
    """The object of a CREATE or UPDATE; None for other operations (nothing to check);
    a 400 verdict when the request carries no object, a refusal naming ``spec`` when its
    spec is not an object."""
    if request.operation not in ("CREATE", "UPDATE"):
        return None
    if not isinstance(request.object, dict):
        return Verdict.error(400, f"{request.operation} request without an object")
    if not isinstance(request.object.get("metadata", {}), dict):
        return Verdict.error(400, "metadata is not an object")
    spec = request.object.get("spec")
    if spec is not None and not isinstance(spec, dict):
        # the mutating webhooks see it before the API server's schema check does
        return Verdict.deny([Cause("spec", f"must be an object, not {type(spec).__name__}")])
    return request.object


def _with_namespace(obj: dict[str, Any], request: Request) -> dict[str, Any]:
    """The object with its metadata (and namespace, which a create may leave to the URL)."""
    metadata = dict(obj.get("metadata") or {})
    if request.namespace and not metadata.get("namespace"):
        metadata["namespace"] = request.namespace
    return {**obj, "metadata": metadata}


def _deleting(obj: Mapping[str, Any]) -> bool:
    """Being deleted: only finalizers are still being removed; refusing any write then
    could leave the object stuck."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def _spec(obj: Any) -> Any:
    return obj.get("spec") if isinstance(obj, dict) else None


GATEWAY_FIELD = "inferenceservice-config.ingress.omeIngressGateway"
"""Where a refusal over the Gateway API settings points: the operator's config, which
the service's ``ome.io/ingress-disable-creation`` annotation can opt out of."""


def _ingress_causes(obj: Mapping[str, Any], data: Mapping[str, str] | None) -> list[Cause]:
    """Gateway API ingress for the service without a Gateway to attach its routes to
    (an unreadable config is the controller's to report, not a reason to refuse)."""
    try:
        config = parse_config(data)
    except ServingError:
        return []
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    ingress = config.ingress.for_service(annotations if isinstance(annotations, dict) else {})
    if not uses_gateway_api(ingress):
        return []
    try:
        gateway_ref(ingress)
    except ServingError as err:
        advice = ' (or annotate the service ome.io/ingress-disable-creation: "true")'
        return [Cause(GATEWAY_FIELD, err.message + advice)]
    return []


def _deploy_only(data: Mapping[str, str] | None) -> dict[str, str]:
    """The ``deploy`` key alone: defaulting must not fail over an ingress setting."""
    return {"deploy": data["deploy"]} if data and "deploy" in data else {}
