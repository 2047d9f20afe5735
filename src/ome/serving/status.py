"""An InferenceService's status as a function of the service (with the status it has),
its plan and the children observed (upstream ``status/status_reconciler.go``).

Conditions, Knative-style (sorted by type; a condition keeps its lastTransitionTime while
nothing about it changes):

- ``EngineReady`` / ``DecoderReady`` / ``RouterReady``: whether the component's
  Deployment or LeaderWorkerSet is available, or its Knative Service Ready
  (:mod:`ome.serving.readiness`); ``False``/``Initializing`` until it reports (upstream
  leaves the condition out meanwhile). Conditions of components no longer declared are
  dropped.
- Serverless components only (:mod:`ome.serving.knative`): ``{Component}RouteReady`` and
  ``{Component}ConfigurationReady`` from the Knative Service's ``RoutesReady`` and
  ``ConfigurationsReady``, and over them ``RoutesReady`` and ``LatestDeploymentReady``.
- ``IngressReady``: ``True``/``IngressDisabled`` when ingress creation is disabled; else
  True once the entry component is ready (then the Ingress exists), ``False``/
  ``ComponentNotReady`` before; with the Gateway API, once the entry component is ready
  and every HTTPRoute is accepted by its Gateway (:func:`ome.serving.gateway.route_condition`);
  with a Serverless entry component, once its Knative Service is Ready with a URL (which
  becomes the service's).
- ``Ready`` = IngressReady ∧ EngineReady; when False it carries the reason of EngineReady,
  else of IngressReady. Decoder and router readiness count only through the ingress.
  While the service's DedicatedAICluster cannot hold its pods, a Ready that is not True
  is False with reason ``DedicatedAIClusterFull`` and the numbers.

``observedGeneration`` is the service's generation (upstream copies the Deployment's).
``modelStatus`` comes from the engine's and decoder's pods (all pods of their groups):
none yet → Pending; the service Ready → Loaded with the number of copies (a group is one
copy); a pod whose storage initializer runs →
Loading; an init container or ``ome-container`` that failed or crash-loops →
FailedToLoad with the failure. Every pod is checked, not only the first as upstream does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ome.api.v1beta1 import InferenceService
from ome.serving import knative, revisions
from ome.serving.accelerator_config import class_node_selector, class_resources
from ome.serving.accelerator_selection import AcceleratorChoice
from ome.serving.adapters import FINE_TUNED_WEIGHTS_ANNOTATION
from ome.serving.catalog import name_of, service_namespace
from ome.serving.components import Component, Spec, to_json
from ome.serving.config import uses_gateway_api
from ome.serving.gateway import route_condition
from ome.serving.ingress import cluster_host
from ome.serving.plan import ServingPlan, Workload
from ome.serving.podspec import MAIN_CONTAINER
from ome.serving.problems import CLUSTER_REASONS, ServingError
from ome.serving.raw import service_name
from ome.serving.readiness import copies, workload_condition, workload_pods
from ome.serving.render import (
    entry_port,
    entry_workload,
    ingress_component,
    ingress_hosts,
    needs_external_service,
)
from ome.serving.revisions import Rollout, canary_workload, traffic

READY = "Ready"
TRAFFIC_SPLIT = "TrafficSplit"
INGRESS_CANNOT_SPLIT = "IngressCannotSplit"
INGRESS_READY = "IngressReady"
ROUTES_READY = "RoutesReady"
LATEST_DEPLOYMENT_READY = "LatestDeploymentReady"
_KNATIVE_PARTS = ("Route", "Configuration")
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
STORAGE_INITIALIZER = "storage-initializer"
_COMPONENT_CONDITIONS = {c: f"{c.value.capitalize()}Ready" for c in Component}
_COMPARED = frozenset({"type", "status", "reason", "message", "severity"})
# Knative marks conditions that Ready does not depend on as informational.
_INFO = "Info"


def compute_status(
    plan: ServingPlan,
    workloads: Mapping[str, Spec],
    pods: Sequence[Spec],
    now: str,
    routes: Mapping[str, Spec] | None = None,
    *,
    rollouts: Mapping[Component, Rollout] | None = None,
    waiting: ServingError | None = None,
) -> Spec:
    """The status to write.

    ``workloads``: the objects that run the service's components as read from the cluster,
    by name: for each of ``plan.workloads`` the one its ``object_ref`` names (a Deployment,
    or for a multi-node component a LeaderWorkerSet); an absent one is left out.
    ``pods``: the service's pods (label ``ome.io/inferenceservice``), those of multi-node
    groups included. ``now``: an RFC 3339 time for conditions that change. ``routes``: the
    service's HTTPRoutes as read, by name (with the Gateway API). ``rollouts``: each
    RawDeployment component's revisions (:mod:`ome.serving.revisions`), whose canary
    Deployments ``workloads`` then holds too. ``waiting``: why the pods cannot be placed
    though the service is applied (its DedicatedAICluster is full): ``Ready``, unless
    True, is False with that reason."""
    rollouts = rollouts or {}
    service = plan.service
    status = _previous(service)
    conditions = _Conditions(status.get("conditions", []), now)
    components: dict[str, Spec] = {}
    for workload in plan.workloads:
        observed = workloads.get(workload.object_ref.name)
        condition = workload_condition(workload, observed, pods)
        conditions.set(_COMPONENT_CONDITIONS[workload.component], *condition)
        previous = status.get("components", {}).get(str(workload.component), {})
        if workload.serverless:
            entry = _accelerator(knative.component_status(previous, observed), workload)
        else:
            entry = _component_status(
                previous, observed, workload, available=condition[0] == "True"
            )
        _knative_conditions(workload, observed, conditions)
        rollout = rollouts.get(workload.component)
        if rollout is not None:
            entry = _revisions(entry, rollout, workload, workloads, pods)
        components[str(workload.component)] = entry
    for component in Component:
        if plan.workload(component) is None:
            conditions.drop(_COMPONENT_CONDITIONS[component])
    status["components"] = components
    _knative_totals(plan, conditions)
    _split(plan, rollouts, conditions)
    _served_weights(plan, status)
    _access(plan, status, conditions, routes or {})
    # upstream's Ready waits for the engine alone; a service whose decoder or router does
    # not serve answers no request, so Ready waits for every component it runs
    dependents = [_COMPONENT_CONDITIONS[w.component] for w in plan.workloads]
    ready = conditions.conjunction([*dependents, INGRESS_READY])
    if waiting is not None and ready[0] != "True":
        ready = ("False", str(waiting.reason), waiting.message)
    conditions.set(READY, *ready)
    status["conditions"] = conditions.listed()
    status["modelStatus"] = _model_status(
        status.get("modelStatus", {}), _model_pods(plan, pods), conditions.is_true(READY)
    )
    return _observed(status, service)


def _served_weights(plan: ServingPlan, status: Spec) -> None:
    """The fine-tuned weights served, in the status annotations (upstream's status has
    them: Knative's ``Status.Annotations``), so tools see them without the pods."""
    notes = {k: v for k, v in (status.get("annotations") or {}).items()}
    if plan.fine_tuning is not None:
        notes[FINE_TUNED_WEIGHTS_ANNOTATION] = ",".join(plan.fine_tuning.names)
    else:
        notes.pop(FINE_TUNED_WEIGHTS_ANNOTATION, None)
    if notes:
        status["annotations"] = notes
    else:
        status.pop("annotations", None)


def failed_status(service: InferenceService, error: ServingError, now: str) -> Spec:
    """The status of a service that cannot be served: ``Ready=False`` with the error's
    reason, the model marked as blocked by an invalid spec unless the cluster is to blame;
    other conditions are kept."""
    status = _previous(service)
    conditions = _Conditions(status.get("conditions", []), now)
    conditions.set(READY, "False", error.reason, error.message)
    status["conditions"] = conditions.listed()
    if error.reason in CLUSTER_REASONS:
        return _observed(status, service)
    model = dict(status.get("modelStatus", {}))
    model["transitionStatus"] = "InvalidSpec"
    states = model.get("modelRevisionStates", {"activeModelState": "Pending"})
    model["modelRevisionStates"] = {**states, "targetModelState": "FailedToLoad"}
    model["lastFailureInfo"] = {"message": error.message, "reason": error.failure_info_reason}
    status["modelStatus"] = model
    return _observed(status, service)


def is_ready(status: Mapping[str, Any] | None) -> bool:
    """Whether a status (as written or read) says Ready=True."""
    conditions = (status or {}).get("conditions") or []
    return any(c.get("type") == READY and c.get("status") == "True" for c in conditions)


def _observed(status: Spec, service: InferenceService) -> Spec:
    if service.metadata.generation is not None:
        status["observedGeneration"] = service.metadata.generation
    return status


def _previous(service: InferenceService) -> Spec:
    return to_json(service.status) if service.status is not None else {}


class _Conditions:
    """Knative-style conditions: set by type, kept sorted, times kept when unchanged."""

    def __init__(self, previous: Iterable[Spec], now: str) -> None:
        self._previous = {c["type"]: c for c in previous}
        self._current = dict(self._previous)
        self._now = now

    def set(
        self, kind: str, status: str, reason: str = "", message: str = "", severity: str = ""
    ) -> None:
        fields = {"type": kind, "status": status, "reason": reason, "message": message}
        condition = {k: v for k, v in (fields | {"severity": severity}).items() if v}
        before = self._previous.get(kind, {})
        unchanged = {k: v for k, v in before.items() if k in _COMPARED and v} == condition
        condition["lastTransitionTime"] = (
            before.get("lastTransitionTime") if unchanged else None
        ) or self._now
        self._current[kind] = condition

    def drop(self, kind: str) -> None:
        self._current.pop(kind, None)

    def is_true(self, kind: str) -> bool:
        return bool(self._current.get(kind, {}).get("status") == "True")

    def is_unknown(self, kind: str) -> bool:
        """Unknown, or not reported at all."""
        return bool(self._current.get(kind, {}).get("status", "Unknown") == "Unknown")

    def conjunction(self, kinds: Sequence[str]) -> tuple[str, str, str]:
        """(status, reason, message) of a condition that holds when all ``kinds`` do."""
        found = [self._current.get(k, {"status": "Unknown"}) for k in kinds]
        for verdict in ("False", "Unknown"):
            for condition in found:
                if condition["status"] == verdict:
                    return verdict, condition.get("reason", ""), condition.get("message", "")
        return "True", "", ""

    def listed(self) -> list[Spec]:
        return [self._current[k] for k in sorted(self._current)]


def _revisions(
    status: Spec,
    rollout: Rollout,
    workload: Workload,
    workloads: Mapping[str, Spec],
    pods: Sequence[Spec],
) -> Spec:
    """Upstream's revision fields and ``traffic`` for a component with revisions: the
    latest is ready once its Deployment (the canary's during a canary, else the rolled
    one) is available; the stable one is rolled out."""
    status = {k: v for k, v in status.items() if k not in _REVISION_FIELDS}
    status["latestCreatedRevision"] = rollout.latest
    status["traffic"] = traffic(rollout)
    runner = canary_workload(workload) if rollout.canary else workload
    observed = workloads.get(runner.name)
    notes = ((observed or {}).get("metadata") or {}).get("annotations") or {}
    running_latest = notes.get(revisions.REVISION_ANNOTATION) == rollout.latest
    if running_latest and workload_condition(runner, observed, pods)[0] == "True":
        status["latestReadyRevision"] = rollout.latest
    elif rollout.canary:
        status["latestReadyRevision"] = rollout.rolled_out
    status["latestRolledoutRevision"] = rollout.rolled_out
    if rollout.previous is not None:
        status["previousRolledoutRevision"] = rollout.previous
    return status


_REVISION_FIELDS = (
    "latestCreatedRevision",
    "latestRolledoutRevision",
    "previousRolledoutRevision",
    "traffic",
)


def _split(
    plan: ServingPlan, rollouts: Mapping[Component, Rollout], conditions: _Conditions
) -> None:
    """``TrafficSplit``: an Ingress cannot weigh backends, so with one a canary runs
    without traffic; said here rather than silently."""
    canaries = [str(c) for c, r in rollouts.items() if r.canary]
    if not canaries or uses_gateway_api(plan.ingress):
        conditions.drop(TRAFFIC_SPLIT)
        return
    message = (
        f"the canary of {', '.join(canaries)} runs but gets no traffic: only Gateway API "
        "routes (enableGatewayAPI) split traffic by canaryTrafficPercent"
    )
    conditions.set(TRAFFIC_SPLIT, "False", INGRESS_CANNOT_SPLIT, message, _INFO)


def _component_status(
    previous: Spec, observed: Spec | None, workload: Workload, *, available: bool
) -> Spec:
    """The component's revision (a Deployment's; upstream's for a LeaderWorkerSet reads
    an annotation that does not exist) and its URL once available."""
    status = dict(previous)
    annotations = (observed or {}).get("metadata", {}).get("annotations", {})
    if REVISION_ANNOTATION in annotations:
        status["latestCreatedRevision"] = annotations[REVISION_ANNOTATION]
    if available:
        status["url"] = workload.url
    return _accelerator(status, workload)


def _accelerator(status: Spec, workload: Workload) -> Spec:
    if workload.accelerator is not None:
        status["selectedAccelerator"] = selected_accelerator(workload.accelerator)
    else:
        status.pop("selectedAccelerator", None)
    return status


def _knative_conditions(workload: Workload, observed: Spec | None, conditions: _Conditions) -> None:
    """A Serverless component's ``{Component}RouteReady`` and ``{Component}ConfigurationReady``
    from its Knative Service's, once it reports them; none for other components."""
    reported = knative.route_conditions(observed) if workload.serverless else {}
    prefix = workload.component.value.capitalize()
    for part in _KNATIVE_PARTS:
        kind = f"{prefix}{part}Ready"
        if part in reported:
            conditions.set(kind, *reported[part])
        else:
            conditions.drop(kind)


def _knative_totals(plan: ServingPlan, conditions: _Conditions) -> None:
    """Upstream's ``RoutesReady`` and ``LatestDeploymentReady`` over the Serverless
    components (upstream: its Serverless services), each False/Unknown with ``<condition>
    not ready`` naming the last component that is not, as upstream."""
    serverless = [w.component.value.capitalize() for w in plan.workloads if w.serverless]
    for component in Component:
        if plan.workload(component) is None:
            for part in _KNATIVE_PARTS:
                conditions.drop(f"{component.value.capitalize()}{part}Ready")
    for total, part in ((ROUTES_READY, "Route"), (LATEST_DEPLOYMENT_READY, "Configuration")):
        if not serverless:
            conditions.drop(total)
            continue
        verdict = "True"
        reason = ""
        for prefix in serverless:
            kind = f"{prefix}{part}Ready"
            if not conditions.is_true(kind):
                verdict = "Unknown" if conditions.is_unknown(kind) else "False"
                reason = f"{kind} not ready"
        conditions.set(total, verdict, reason)


def selected_accelerator(choice: AcceleratorChoice) -> Spec:
    """``status.components.*.selectedAccelerator``: the class, why, and what it puts on
    the pods (upstream declares the field and never writes it)."""
    selected: Spec = {"acceleratorClass": choice.name, "reason": choice.reason}
    if class_node_selector(choice):
        selected["nodeSelector"] = class_node_selector(choice)
    if class_resources(choice):
        selected["resourceRequests"] = class_resources(choice)
    return selected


def _access(
    plan: ServingPlan, status: Spec, conditions: _Conditions, routes: Mapping[str, Spec]
) -> None:
    """IngressReady, and the URL and address once they are known."""
    service = plan.service
    namespace, port = service_namespace(service), entry_port(plan)
    if ingress_component(plan).serverless:
        _knative_access(ingress_component(plan), status, conditions)
        return
    if plan.ingress.disable_ingress_creation:
        message = "Ingress creation is disabled, using external service for access"
        conditions.set(INGRESS_READY, "True", "IngressDisabled", message)
        # the external Service; without one (cluster-local), the entry component's
        fronted = name_of(service) if needs_external_service(service) else None
        host = cluster_host(fronted or service_name(entry_workload(plan)), namespace)
        url = f"http://{host}:{port}"
        status["url"], status["address"] = url, {"url": url}
        return
    entry = ingress_component(plan)
    if not conditions.is_true(_COMPONENT_CONDITIONS[entry.component]):
        message = "Target service not ready for ingress creation"
        conditions.set(INGRESS_READY, "False", "ComponentNotReady", message)
        return
    if uses_gateway_api(plan.ingress):
        _gateway_access(plan, status, conditions, routes)
        return
    conditions.set(INGRESS_READY, "True")
    scheme = plan.ingress.url_scheme
    status["url"] = f"{scheme}://{ingress_hosts(plan)[0][0]}:{port}"
    router = plan.workload(Component.ROUTER)
    backend = router.name if router is not None else name_of(service)
    status["address"] = {"url": f"{scheme}://{cluster_host(backend, namespace)}:{port}"}


def _knative_access(entry: Workload, status: Spec, conditions: _Conditions) -> None:
    """A Serverless entry component is reached through its Knative Service's route: its
    URL and address are the service's once Ready (upstream fronts it with an Istio
    VirtualService of its own, not made here)."""
    found = status["components"][str(entry.component)]
    if not conditions.is_true(_COMPONENT_CONDITIONS[entry.component]) or not found.get("url"):
        message = "Target service not ready for ingress creation"
        conditions.set(INGRESS_READY, "False", "ComponentNotReady", message)
        return
    conditions.set(INGRESS_READY, "True")
    status["url"] = found["url"]
    status["address"] = dict(found.get("address") or {"url": found["url"]})


def _gateway_access(
    plan: ServingPlan, status: Spec, conditions: _Conditions, routes: Mapping[str, Spec]
) -> None:
    """Upstream's URL (the service's host, no port) and the entry component's Service
    as the address, once the routes are accepted."""
    problem = route_condition(plan, routes)
    if problem is not None:
        conditions.set(INGRESS_READY, *problem)
        return
    conditions.set(INGRESS_READY, "True")
    namespace = service_namespace(plan.service)
    status["url"] = f"{plan.ingress.url_scheme}://{ingress_hosts(plan)[0][0]}"
    entry = entry_workload(plan)
    host = cluster_host(service_name(entry), namespace)
    status["address"] = {"url": f"http://{host}:{entry_port(plan)}"}


def _model_pods(plan: ServingPlan, pods: Sequence[Spec]) -> tuple[list[Spec], int]:
    """The pods that load the model (the engine's and the decoder's, every pod of their
    groups), and how many copies of the model they make."""
    found: list[Spec] = []
    count = 0
    for workload in plan.workloads:
        if workload.component is not Component.ROUTER:
            mine = workload_pods(workload, pods)
            found += mine
            count += copies(workload, mine)
    return found, count


def _model_status(previous: Spec, found: tuple[list[Spec], int], ready: bool) -> Spec:
    pods, total = found
    model = dict(previous)
    states = dict(model.get("modelRevisionStates", {"activeModelState": "Pending"}))
    if not pods:
        target, transition = "Pending", "InProgress"
    elif ready:
        target, transition = "Loaded", "UpToDate"
        states["activeModelState"] = "Loaded"
        model["modelCopies"] = {"failedCopies": 0, "totalCopies": total}
    else:
        failure = next(filter(None, map(_load_failure, pods)), None)
        if failure is not None:
            target, transition = "FailedToLoad", "BlockedByFailedLoad"
            model["lastFailureInfo"] = failure
        elif any(_initializing(p) for p in pods):
            target, transition = "Loading", "InProgress"
        else:
            target, transition = "Pending", "InProgress"
    model["modelRevisionStates"] = {**states, "targetModelState": target}
    model["transitionStatus"] = transition
    return model


def _statuses(pod: Spec, field: str) -> list[Spec]:
    found: list[Spec] = pod.get("status", {}).get(field) or []
    return found


def _initializing(pod: Spec) -> bool:
    return any(
        s.get("name") == STORAGE_INITIALIZER and "running" in s.get("state", {})
        for s in _statuses(pod, "initContainerStatuses")
    )


def _load_failure(pod: Spec) -> Spec | None:
    """The failure of the storage initializer or the main container, if any."""
    watched = [
        *(
            s
            for s in _statuses(pod, "initContainerStatuses")
            if s.get("name") == STORAGE_INITIALIZER
        ),
        *(s for s in _statuses(pod, "containerStatuses") if s.get("name") == MAIN_CONTAINER),
    ]
    for container in watched:
        state = container.get("state", {})
        terminated = state.get("terminated")
        if terminated is None and state.get("waiting", {}).get("reason") == "CrashLoopBackOff":
            terminated = container.get("lastState", {}).get("terminated")
        elif terminated is not None and terminated.get("reason") != "Error":
            terminated = None
        if terminated is not None:
            info = {"exitCode": terminated.get("exitCode", 0), "reason": "ModelLoadFailed"}
            return info | ({"message": terminated["message"]} if terminated.get("message") else {})
    return None
