"""A Serverless component as a Knative Service, and its status as ours (upstream
``reconcilers/knative/ksvc_reconciler.go`` and ``status/status_reconciler.go``).

The Knative Service (``serving.knative.dev/v1``) is named after the component and carries
its labels (with the Volcano or Kueue queue labels). Its revision template carries the
same labels without ``networking.knative.dev/visibility``, which Knative does not allow there
(upstream leaves the queue labels off the template; here the pods that queue get them),
and annotations with
the scale settings Knative reads: ``autoscaling.knative.dev/min-scale`` (``minReplicas``,
1 when unset), ``max-scale`` (``maxReplicas`` when not 0), ``class`` (KPA unless the
service names one), ``target`` (``scaleTarget``) and ``metric`` (``scaleMetric``). Two
annotations belong on the Knative Service itself and move there:
``serving.knative.dev/rollout-duration`` and OpenShift's ``enablePassthrough``.
``containerConcurrency`` is the component's; ``timeoutSeconds``, when set, is both the
revision's ``timeoutSeconds`` and ``responseStartTimeoutSeconds``.

The pod is the component's, with only the fields Knative's Revision accepts (its CRD's
schema), less the Kubernetes defaults spelled out for Deployments (``dnsPolicy:
ClusterFirst``, ``schedulerName: default-scheduler``, an empty ``securityContext``):
upstream hands Knative its pod before those defaults, and Knative's webhook refuses
fields such as ``restartPolicy`` and, unless a feature flag allows them, ``dnsPolicy``;
without that webhook the API server would drop unknown fields silently.

Traffic: with ``canaryTrafficPercent`` and a revision already rolled out, the latest
revision gets that percent (tag ``latest`` with ``ome.io/enable-tag-routing: "true"``) and
the rolled-out revision the rest (tag ``prev``); otherwise the latest revision gets all.

Status: the Knative Service's ``Ready``, ``RoutesReady`` and ``ConfigurationsReady`` become
the component's ``{Component}Ready``, ``{Component}RouteReady`` and
``{Component}ConfigurationReady``; once Ready, its ``url`` and ``address`` become the
component's; its revisions and traffic are copied, and the rolled-out revisions tracked as
upstream does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ome.serving.components import Spec
from ome.serving.metadata import VISIBILITY_LABEL, scheduling_labels
from ome.serving.plan import KNATIVE_API_VERSION as API_VERSION
from ome.serving.plan import KNATIVE_KIND as KIND
from ome.serving.plan import Workload

__all__ = ["API_VERSION", "KIND", "component_status", "knative_service", "ready_condition"]
SERVICE_LABEL = "serving.knative.dev/service"
"""Knative's label on the pods of a Knative Service's revisions."""
MIN_SCALE = "autoscaling.knative.dev/min-scale"
MAX_SCALE = "autoscaling.knative.dev/max-scale"
CLASS = "autoscaling.knative.dev/class"
TARGET = "autoscaling.knative.dev/target"
METRIC = "autoscaling.knative.dev/metric"
KPA = "kpa.autoscaling.knative.dev"
TAG_ROUTING = "ome.io/enable-tag-routing"
SERVICE_ANNOTATIONS = (
    "serving.knative.dev/rollout-duration",
    "serving.knative.openshift.io/enablePassthrough",
)
"""Annotations read on the Knative Service, not on its revisions: they move there."""
DEFAULT_MIN_SCALE = 1
FULL = 100

# What Knative's Revision schema (config/core/300-resources/revision.yaml) has room for.
POD_FIELDS = frozenset(
    {
        "affinity",
        "automountServiceAccountToken",
        "containers",
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "hostAliases",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "imagePullSecrets",
        "initContainers",
        "nodeSelector",
        "priorityClassName",
        "runtimeClassName",
        "schedulerName",
        "securityContext",
        "serviceAccountName",
        "shareProcessNamespace",
        "tolerations",
        "topologySpreadConstraints",
        "volumes",
    }
)
CONTAINER_FIELDS = frozenset(
    {
        "args",
        "command",
        "env",
        "envFrom",
        "image",
        "imagePullPolicy",
        "livenessProbe",
        "name",
        "ports",
        "readinessProbe",
        "resources",
        "securityContext",
        "startupProbe",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "volumeMounts",
        "workingDir",
    }
)

# Values the API server would default a Deployment's pod to, which the pods here spell
# out; Knative refuses these fields unless a feature flag allows them, and defaults them
# the same way itself.
_POD_DEFAULTS: dict[str, object] = {
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "securityContext": {},
}

Condition = tuple[str, str, str]
"""(status, reason, message)."""


def knative_service(workload: Workload, namespace: str, rolled_out: str | None = None) -> Spec:
    """The Knative Service of a Serverless component. ``rolled_out``: the component's
    ``latestRolledoutRevision`` as the service's status has it (for a canary split)."""
    spec = workload.spec
    annotations = dict(workload.annotations)
    annotations[MIN_SCALE] = str(spec.get("minReplicas", DEFAULT_MIN_SCALE))
    if spec.get("maxReplicas"):
        annotations[MAX_SCALE] = str(spec["maxReplicas"])
    annotations.setdefault(CLASS, KPA)
    if spec.get("scaleTarget") is not None:
        annotations[TARGET] = str(spec["scaleTarget"])
    if spec.get("scaleMetric") is not None:
        annotations[METRIC] = str(spec["scaleMetric"])
    own = {k: annotations.pop(k) for k in SERVICE_ANNOTATIONS if k in annotations}
    labels = dict(sorted((workload.labels | scheduling_labels(workload.annotations)).items()))
    template_labels = {k: v for k, v in labels.items() if k != VISIBILITY_LABEL}
    revision: Spec = {**_knative_pod(workload.pod)}
    if spec.get("containerConcurrency") is not None:
        revision["containerConcurrency"] = spec["containerConcurrency"]
    if spec.get("timeoutSeconds") is not None:
        revision["timeoutSeconds"] = spec["timeoutSeconds"]
        revision["responseStartTimeoutSeconds"] = spec["timeoutSeconds"]
    metadata: Spec = {"name": workload.name, "namespace": namespace, "labels": labels}
    if own:
        metadata["annotations"] = own
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "template": {
                "metadata": {
                    "labels": template_labels,
                    "annotations": dict(sorted(annotations.items())),
                },
                "spec": dict(sorted(revision.items())),
            },
            "traffic": traffic(spec.get("canaryTrafficPercent"), rolled_out, annotations),
        },
    }


def _knative_pod(pod: Spec) -> Spec:
    kept = {
        k: v
        for k, v in pod.items()
        if k in POD_FIELDS and (k not in _POD_DEFAULTS or v != _POD_DEFAULTS[k])
    }
    for field in ("containers", "initContainers"):
        if field in kept:
            kept[field] = [
                {k: v for k, v in c.items() if k in CONTAINER_FIELDS} for c in kept[field]
            ]
    return kept


def traffic(
    percent: int | None, rolled_out: str | None, annotations: Mapping[str, str]
) -> list[Spec]:
    """The Knative Service's ``spec.traffic``."""
    latest: Spec = {"latestRevision": True, "percent": FULL}
    if annotations.get(TAG_ROUTING) == "true":
        latest["tag"] = "latest"
    if percent is None or not rolled_out:
        return [latest]
    targets = [{**latest, "percent": percent}]
    if percent < FULL:
        previous = {"latestRevision": False, "percent": FULL - percent, "revisionName": rolled_out}
        targets.append({**previous, "tag": "prev"})
    return targets


def _conditions(observed: Spec | None) -> dict[str, Spec]:
    found: Iterable[Spec] = ((observed or {}).get("status") or {}).get("conditions") or ()
    return {c.get("type", ""): c for c in found}


def _condition(found: Spec) -> Condition:
    return found.get("status", "Unknown"), found.get("reason", ""), found.get("message", "")


def ready_condition(workload: Workload, observed: Spec | None) -> Condition:
    """The component's ready condition: the Knative Service's ``Ready``, or why there is
    none yet."""
    if observed is None:
        return "False", "Initializing", f"{workload.component} component initializing"
    ready = _conditions(observed).get("Ready")
    if ready is None:
        message = (
            f"waiting for Knative Serving to report on Knative Service {workload.name}: "
            "Serverless components need Knative Serving with a networking layer"
        )
        return "False", "Initializing", message
    return _condition(ready)


def route_conditions(observed: Spec | None) -> dict[str, Condition]:
    """The Knative Service's ``RoutesReady`` and ``ConfigurationsReady`` that it reports,
    keyed ``Route`` and ``Configuration`` (the middle of our condition types)."""
    found = _conditions(observed)
    kinds = {"Route": "RoutesReady", "Configuration": "ConfigurationsReady"}
    return {ours: _condition(found[theirs]) for ours, theirs in kinds.items() if theirs in found}


def component_status(previous: Spec, observed: Spec | None) -> Spec:
    """``status.components.<component>`` from the Knative Service as read (upstream
    ``PropagateStatus``): revisions, traffic, and the URL and address once Ready."""
    status = dict(previous)
    reported: Spec = (observed or {}).get("status") or {}
    created = reported.get("latestCreatedRevisionName")
    ready_revision = reported.get("latestReadyRevisionName")
    targets: list[Spec] = reported.get("traffic") or []
    _rolled_out(status, targets, created, ready_revision)
    revisions = (("latestCreatedRevision", created), ("latestReadyRevision", ready_revision))
    for ours, value in revisions:
        if value:
            status[ours] = value
        else:
            status.pop(ours, None)
    if _conditions(observed).get("Ready", {}).get("status") == "True":
        if reported.get("url"):
            status["url"] = reported["url"]
        address = (reported.get("address") or {}).get("url")
        if address:
            status["address"] = {"url": address}
    if targets:
        status["traffic"] = [dict(t) for t in targets]
    else:
        status.pop("traffic", None)
    return status


def _rolled_out(status: Spec, targets: list[Spec], created: str | None, ready: str | None) -> None:
    """Upstream's ``handleTrafficRouting``: the latest ready revision counts as rolled out
    once it has all the traffic; a rollback of the traffic to the previous revision rolls
    back ``latestRolledoutRevision`` too."""
    by_revision: dict[str, int] = {}
    for target in targets:
        if target.get("percent") is not None:
            name = target.get("revisionName", "")
            by_revision[name] = by_revision.get(name, 0) + int(target["percent"])
    for target in targets:
        if not ready or target.get("revisionName") != ready or not target.get("latestRevision"):
            continue
        percent: Any = target.get("percent")
        if status.get("latestRolledoutRevision") != ready:
            if percent == FULL:
                if status.get("latestRolledoutRevision"):
                    status["previousRolledoutRevision"] = status["latestRolledoutRevision"]
                status["latestRolledoutRevision"] = ready
        elif (
            ready == created
            and percent is not None
            and percent < FULL
            and by_revision.get(ready) == FULL
            and status.get("previousRolledoutRevision")
        ):
            status["latestRolledoutRevision"] = status["previousRolledoutRevision"]
