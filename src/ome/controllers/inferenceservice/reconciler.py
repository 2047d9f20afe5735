"""The reconcile of one InferenceService: finalizer, plan, children, status."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from ome.api.v1beta1 import InferenceService
from ome.client import (
    GVK,
    ApiError,
    Client,
    Conflict,
    Invalid,
    KubeObject,
    NotFound,
    ResourceClient,
    codec,
    delete_preconditions,
    fenced,
    newest_seen,
    version_of,
)
from ome.controllers.inferenceservice.catalog import StoreCatalog
from ome.controllers.inferenceservice.selections import RememberedSelections
from ome.controllers.inferenceservice.tracking import Child, Tracker
from ome.controllers.kinds import (
    CHILD_KINDS,
    DEPLOYMENT,
    HTTPROUTE,
    INFERENCEPOOL,
    INFERENCESERVICE,
    KNATIVE_SERVICE,
    LEADERWORKERSET,
    SCALEDOBJECT,
)
from ome.runtime import (
    NORMAL,
    WARNING,
    EventRecorder,
    OwnWrites,
    Request,
    controller_of,
    has_finalizer,
    set_controller_reference,
)
from ome.serving import (
    Reason,
    ServingConfig,
    ServingError,
    Workload,
    compute_status,
    failed_status,
    is_ready,
    parse_config,
    plan_service,
    render_objects,
    workload_available,
)
from ome.serving.components import Component
from ome.serving.config import CONFIGMAP_NAME as CONFIG_NAME
from ome.serving.config import uses_gateway_api
from ome.serving.dedicated_fit import dedicated_cluster_fit, held_gpus, joined_cluster, needed_gpus
from ome.serving.endpointpicker import ENDPOINT_PICKER_ANNOTATION, endpoint_picker
from ome.serving.metadata import COMPONENT_LABEL, INFERENCESERVICE_LABEL
from ome.serving.plan import KEDA, ServingPlan
from ome.serving.problems import apply_refusal, invalid_child
from ome.serving.revisions import Rollout, canary_workload, plan_rollout

FINALIZER = "inferenceservice.finalizers"
FIELD_MANAGER = "ome-controller"
SERVICE_INDEX = "inferenceservice"
"""Index of children and pods: ``{namespace}/{ome.io/inferenceservice label}``."""
READY_REASON = "InferenceServiceReady"

Obj = dict[str, Any]
log = structlog.get_logger("ome.controllers.inferenceservice")


def service_index(obj: Mapping[str, Any]) -> list[str]:
    meta = obj.get("metadata", {})
    name = (meta.get("labels") or {}).get(INFERENCESERVICE_LABEL)
    return [f"{meta.get('namespace', '')}/{name}"] if name else []


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready_condition(status: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for condition in (status or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return {}


def _timeless(status: Obj) -> Obj:
    """The status without its conditions' transition times, which a reconcile over a
    stale cache stamps anew."""
    conditions = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in status.get("conditions") or ()
    ]
    return {**status, "conditions": conditions}


ORPHAN_FINALIZER = "orphan"
"""Set by the API server on an object deleted with propagationPolicy=Orphan."""


def is_predecessor(owner: Mapping[str, Any], service: Obj) -> bool:
    """Whether the owner reference names an InferenceService of ``service``'s name that is
    not ``service``: one deleted before it was made (two cannot exist at once)."""
    meta = service["metadata"]
    return (
        owner.get("kind") == INFERENCESERVICE.kind
        and str(owner.get("apiVersion", "")).split("/")[0] == INFERENCESERVICE.group
        and owner.get("name") == meta["name"]
        and owner.get("uid") != meta["uid"]
    )


def _conflict(taken: Mapping[Child, str]) -> ServingError:
    """Upstream sets itself as controller only of objects no one else controls
    (controllerutil.SetControllerReference); taking them over would make two owners
    trade the object back and forth."""
    found = "; ".join(f"{kind} {key} is {owner}" for (kind, key), owner in sorted(taken.items()))
    return ServingError(
        Reason.OWNERSHIP_CONFLICT,
        f"{found}. The service's objects are not written while another owner holds any "
        "of them: delete or rename that object, or rename this service",
    )


def _no_leaderworkersets() -> ServingError:
    return ServingError(
        Reason.LEADERWORKERSET_UNAVAILABLE,
        f"a multi-node component runs as a LeaderWorkerSet, and the cluster does not serve "
        f"{LEADERWORKERSET.api_version} (or the operator started before it did): install "
        "LeaderWorkerSet (sigs.k8s.io/lws) and restart the operator",
    )


def _no_keda() -> ServingError:
    return ServingError(
        Reason.KEDA_UNAVAILABLE,
        f"ome.io/autoscalerClass: keda makes a KEDA ScaledObject, and the cluster does not "
        f"serve {SCALEDOBJECT.api_version} (or the operator started before it did): install "
        "KEDA and restart the operator, or use autoscaler class hpa or external",
    )


def _no_gateway_api() -> ServingError:
    return ServingError(
        Reason.GATEWAY_API_UNAVAILABLE,
        f"inferenceservice-config enables the Gateway API (enableGatewayAPI), and the "
        f"cluster does not serve {HTTPROUTE.api_version} HTTPRoutes (or the operator started "
        "before it did): install the Gateway API CRDs and restart the operator",
    )


def _no_knative_serving() -> ServingError:
    return ServingError(
        Reason.KNATIVE_SERVING_UNAVAILABLE,
        f"a Serverless component (minReplicas 0, or ome.io/deploymentMode: Serverless) runs "
        f"as a Knative Service, and the cluster does not serve {KNATIVE_SERVICE.api_version} "
        "Services (or the operator started before it did): install Knative Serving with a "
        "networking layer and restart the operator, or set minReplicas to 1 or more",
    )


def _no_inference_pools() -> ServingError:
    return ServingError(
        Reason.INFERENCE_POOL_UNAVAILABLE,
        f"{ENDPOINT_PICKER_ANNOTATION} asks for an InferencePool, and the cluster does not "
        f"serve {INFERENCEPOOL.api_version} (or the operator started before it did): install "
        "the Gateway API Inference Extension CRDs and restart the operator",
    )


def _digest(obj: Mapping[str, Any]) -> str:
    return hashlib.sha256(codec.canonical(obj)).hexdigest()


def _gvk(obj: Mapping[str, Any]) -> GVK:
    return GVK.parse(obj["apiVersion"], obj["kind"])


def _marker(obj: Mapping[str, Any] | None) -> str | None:
    """What changes when someone else changes an object's desired state: its generation
    when it has one (status writes leave it alone), else its resourceVersion."""
    if obj is None:
        return None
    meta = obj.get("metadata", {})
    generation = meta.get("generation")
    return f"g{generation}" if generation is not None else f"r{meta.get('resourceVersion')}"


class InferenceServiceReconciler:
    def __init__(
        self,
        *,
        client: Client,
        informers: Mapping[GVK, Any],
        pods: Any,
        dacs: Any,
        catalog: StoreCatalog,
        recorder: EventRecorder,
        tracker: Tracker,
        config: Any,
        config_namespace: str,
    ) -> None:
        """``config`` is the informer of ``inferenceservice-config`` in
        ``config_namespace``; ``dacs`` the DedicatedAIClusters'."""
        self.client = client
        self.informers = informers
        self.pods = pods
        self.dacs = dacs
        self.catalog = catalog
        self.selections = RememberedSelections(catalog)
        self.recorder = recorder
        self.tracker = tracker
        self.config_informer = config
        self.config_namespace = config_namespace
        self._resources: dict[GVK, ResourceClient[KubeObject]] = {}
        self._config: tuple[str | None, ServingConfig | ServingError] | None = None
        # (kind, namespace/name) -> (digest of what was applied, marker of the result):
        # an unchanged desired object over an unchanged live one is not applied again.
        self._applied: dict[tuple[GVK, str], tuple[str, str | None]] = {}
        # (kind, namespace/name) -> (version the last write was made over, version it
        # produced), for status writes under (INFERENCESERVICE, key): writes are fenced
        # by the newest version seen, the cache's or a write's answer the cache lags.
        self._versions: dict[tuple[GVK, str], tuple[str | None, str]] = {}
        self._sweep_at = 256
        # the last Event of each service, so a stale cache does not repeat it
        self._announced: dict[str, str] = {}
        # key -> (digest of the status last written, resourceVersion it was written over):
        # a cache still showing that version has not seen the write yet, so the same
        # status is not written again (a newer version, e.g. a user's edit, is answered).
        self._written: dict[str, tuple[str, str]] = {}
        # what this reconciler's writes returned: their watch events need no second pass
        self.own_writes = OwnWrites()

    async def _resource(self, gvk: GVK) -> ResourceClient[KubeObject]:
        if gvk not in self._resources:
            self._resources[gvk] = await self.client.resource(gvk)
        return self._resources[gvk]

    @property
    def config_key(self) -> str:
        return f"{self.config_namespace}/{CONFIG_NAME}"

    def config(self) -> ServingConfig:
        """The parsed inferenceservice-config, parsed again only when it changed; raises
        ``ServingError(InvalidConfig)``."""
        configmap = self.config_informer.store.get(self.config_key)
        version = None if configmap is None else configmap["metadata"].get("resourceVersion")
        if self._config is None or self._config[0] != version:
            try:
                parsed: ServingConfig | ServingError = parse_config(
                    None if configmap is None else configmap.get("data") or {}
                )
            except ServingError as error:
                parsed = error
            self._config = (version, parsed)
        result = self._config[1]
        if isinstance(result, ServingError):
            raise result
        return result

    # -- the reconcile ---------------------------------------------------------------

    async def __call__(self, request: Request) -> None:
        key = str(request)
        raw = self.informers[INFERENCESERVICE].store.get(key)
        if raw is None or raw["metadata"].get("deletionTimestamp"):
            self.tracker.forget(key)
            self._announced.pop(key, None)
            self._written.pop(key, None)
            self._versions.pop((INFERENCESERVICE, key), None)
        if raw is None:
            return
        if raw["metadata"].get("deletionTimestamp"):
            if has_finalizer(raw, FINALIZER):
                await self._finalize(raw)
            return
        if not has_finalizer(raw, FINALIZER):
            finalizers = [*(raw["metadata"].get("finalizers") or []), FINALIZER]
            raw = await self._set_finalizers(raw, finalizers)
        service = InferenceService.model_validate(raw)
        try:
            plan = plan_service(service, self.catalog, self.config(), select=self.selections.select)
        except ServingError as error:
            await self._failed(key, raw, service, error)
            return
        self.tracker.serving(key, plan.runtime.metadata.name or "")
        missing_api = self._missing_api(plan)
        if missing_api is not None:
            await self._failed(key, raw, service, missing_api)
            return
        pods = self.pods.store.by_index(SERVICE_INDEX, key)
        try:
            crowded = self._dedicated_cluster_fit(plan, pods)
        except ServingError as error:
            await self._failed(key, raw, service, error)
            return
        observed = {w.object_ref.name: self._observed(request.namespace, w) for w in plan.workloads}
        available = {
            w.component
            for w in plan.workloads
            if workload_available(w, observed[w.object_ref.name], pods)
        }
        rollouts = {
            w.component: plan_rollout(w, observed[w.object_ref.name])
            for w in plan.workloads
            if not w.multi_node and not w.serverless  # Knative keeps a Serverless one's
        }
        objects = render_objects(plan, available, rollouts)
        # read once: a compact cache decodes the children on every read
        children = self._children_of(raw)
        if await self._remove_predecessors_children(raw, objects, children):
            return  # their deletions wake the service again, its cache without them
        taken = self._taken(raw, objects)
        if taken:
            await self._failed(key, raw, service, _conflict(taken), blocked_by=taken)
            return
        try:
            applied = await self._apply_children(key, raw, service, objects)
        except Invalid as err:
            # Retrying the same spec would be refused the same way, with backoff, unseen:
            # say why instead; a change to the service, its runtime or model wakes it.
            await self._failed(key, raw, service, invalid_child(err.message))
            return
        await self._prune(children, {(_gvk(o), o["metadata"]["name"]) for o in objects})
        # The children as the API server answered their applies, not as cached: the watch
        # events of those writes do not wake this service again (see OwnWrites).
        found = {name: obj for name, obj in observed.items() if obj is not None}
        found |= self._canaries(request.namespace, plan, rollouts)
        workloads = (DEPLOYMENT, LEADERWORKERSET, KNATIVE_SERVICE)
        found |= {name: obj for (gvk, name), obj in applied.items() if gvk in workloads}
        routes = {name: obj for (gvk, name), obj in applied.items() if gvk == HTTPROUTE}
        status = compute_status(
            plan, found, pods, rfc3339_now(), routes, rollouts=rollouts, waiting=crowded
        )
        await self._write_status(raw, status)
        self._announce_applied(key, raw, status, crowded)

    def _announce_applied(
        self, key: str, raw: Obj, status: Obj, crowded: ServingError | None
    ) -> None:
        """The Events of an applied service: a Warning while its DedicatedAICluster cannot
        hold its pods, a Normal one when it becomes ready."""
        if not is_ready(status):
            if crowded is not None:
                self._announce(key, raw, crowded)
            else:
                self._announced.pop(key, None)
        elif not is_ready(raw.get("status")) and self._announced.get(key) != READY_REASON:
            # the memory covers a cache that has not yet seen the status just written
            self._announced[key] = READY_REASON
            url = status.get("url", "")
            self.recorder.event(raw, NORMAL, READY_REASON, f"InferenceService is ready at {url}")

    def _observed(self, namespace: str, workload: Workload) -> Obj | None:
        """The Deployment or LeaderWorkerSet running ``workload``, from the cache."""
        ref = workload.object_ref
        informer = self.informers[GVK.parse(ref.api_version, ref.kind)]
        found: Obj | None = informer.store.get(f"{namespace}/{ref.name}")
        return found

    def _canaries(
        self, namespace: str, plan: ServingPlan, rollouts: Mapping[Component, Rollout]
    ) -> dict[str, Obj]:
        """The canary Deployments of the components in a canary rollout, from the cache."""
        informer = self.informers[DEPLOYMENT]
        found: dict[str, Obj] = {}
        for workload in plan.workloads:
            rollout = rollouts.get(workload.component)
            if rollout is not None and rollout.canary:
                name = canary_workload(workload).name
                obj = informer.store.get(f"{namespace}/{name}")
                if obj is not None:
                    found[name] = obj
        return found

    def _dedicated_cluster_fit(self, plan: ServingPlan, pods: list[Obj]) -> ServingError | None:
        """What keeps the DedicatedAICluster the service joins from taking its pods;
        raises when the DAC does not exist (see :func:`dedicated_cluster_fit`)."""
        name = joined_cluster(plan)
        if name is None:
            return None
        dac = self.dacs.store.get(name)
        return dedicated_cluster_fit(name, dac, needed_gpus(plan), held_gpus(name, pods))

    def _missing_api(self, plan: ServingPlan) -> ServingError | None:
        """What the plan needs of an optional API this operator does not watch."""
        if any(w.multi_node for w in plan.workloads) and LEADERWORKERSET not in self.informers:
            return _no_leaderworkersets()
        if any(w.autoscaler == KEDA for w in plan.workloads) and SCALEDOBJECT not in self.informers:
            return _no_keda()
        if any(w.serverless for w in plan.workloads) and KNATIVE_SERVICE not in self.informers:
            return _no_knative_serving()
        if uses_gateway_api(plan.ingress) and HTTPROUTE not in self.informers:
            return _no_gateway_api()
        pooled = endpoint_picker(plan.service.metadata.annotations) is not None
        if pooled and INFERENCEPOOL not in self.informers:
            return _no_inference_pools()
        return None

    async def _finalize(self, raw: Obj) -> None:
        """Delete the children, unless the user asked to orphan them, and release the
        service. Deleted here rather than left to the garbage collector alone, which can
        lag for long (after an API server restart, until its discovery is renewed)."""
        finalizers = raw["metadata"]["finalizers"]
        if ORPHAN_FINALIZER not in finalizers:
            for gvk, child in self._children_of(raw):
                await self._delete_child(gvk, child, insist=True)
        with contextlib.suppress(NotFound):  # gone meanwhile: nothing to release
            await self._set_finalizers(raw, [f for f in finalizers if f != FINALIZER])

    async def _remove_predecessors_children(
        self, raw: Obj, objects: list[Obj], children: list[tuple[GVK, Obj]]
    ) -> bool:
        """Delete the rendered children still controlled by a deleted InferenceService of
        this one's name: garbage the garbage collector has not removed yet (it can lag
        for long, e.g. while its discovery misses the kind after an API server restart),
        which would otherwise block the service as taken. True if any was deleted."""
        rendered = {(_gvk(o), o["metadata"]["name"]) for o in objects}
        stale = [
            (gvk, child)
            for gvk, child in children
            if (gvk, child["metadata"]["name"]) in rendered
            and is_predecessor(controller_of(child) or {}, raw)
        ]
        for gvk, child in stale:
            await self._delete_child(gvk, child)
        return bool(stale)

    def _taken(self, raw: Obj, objects: list[Obj]) -> dict[Child, str]:
        """The children that exist in the caches without being controlled by this
        service, each with who controls it: applying them would take them over."""
        uid = raw["metadata"]["uid"]
        taken = {}
        for obj in objects:
            gvk = GVK.parse(obj["apiVersion"], obj["kind"])
            child_key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            informer = self.informers.get(gvk)
            cached = informer.store.get(child_key) if informer is not None else None
            if cached is None:
                continue
            owner = controller_of(cached)
            if owner is None:
                taken[gvk.kind, child_key] = "no controller: someone else created it"
            elif owner.get("uid") != uid:
                taken[gvk.kind, child_key] = f"controlled by {owner['kind']} {owner['name']}"
        return taken

    async def _failed(
        self,
        key: str,
        raw: Obj,
        service: InferenceService,
        error: ServingError,
        *,
        blocked_by: Mapping[Child, str] | None = None,
    ) -> None:
        """Ready=False with the reason, a Warning Event, no children (existing ones are
        left as they are: a runtime briefly missing must not take a service down). No
        retry: a change to the service, a model, a runtime, the config or the
        DedicatedAICluster it names wakes it, and so does any change to the children in
        ``blocked_by``."""
        if blocked_by:
            self.tracker.blocked(key, str(error.reason), blocked_by)
        else:
            self.tracker.failing(key, str(error.reason))
        status = failed_status(service, error, rfc3339_now())
        await self._write_status(raw, status)
        self._announce(key, raw, error)
        log.info("inferenceservice not servable", reason=str(error.reason), message=error.message)

    def _announce(self, key: str, raw: Obj, error: ServingError) -> None:
        """A Warning Event with the error, unless the status already showed it (or this
        reconciler announced it over a cache that has not seen the status yet)."""
        previous = _ready_condition(raw.get("status"))
        announced = f"{error.reason}: {error.message}"
        changed = previous.get("reason") != error.reason or previous.get("message") != error.message
        if changed and self._announced.get(key) != announced:
            self._announced[key] = announced
            self.recorder.event(raw, WARNING, str(error.reason), error.message)

    async def _report_refusal(
        self, key: str, raw: Obj, service: InferenceService, obj: Obj, err: ApiError
    ) -> None:
        """A child refused for a reason the service's owner can act on (the cluster is out
        of something) shows as Ready=False with that reason and a Warning Event; the
        reconcile still fails, so it is retried with backoff."""
        problem = apply_refusal(obj["kind"], obj["metadata"]["name"], err.message)
        if problem is not None:
            await self._failed(key, raw, service, problem)

    async def _set_finalizers(self, raw: Obj, finalizers: list[str]) -> Obj:
        meta = raw["metadata"]
        services = await self._resource(INFERENCESERVICE)
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}}
        sending = services.patch(meta["name"], patch, meta["namespace"])
        return dict(await self.own_writes.write(INFERENCESERVICE, raw, sending))

    async def _apply_children(
        self, key: str, raw: Obj, service: InferenceService, objects: list[Obj]
    ) -> dict[tuple[GVK, str], Obj]:
        """Apply the rendered children, controlled by the service; each as it now is, by
        kind and name."""
        applied: dict[tuple[GVK, str], Obj] = {}
        for obj in objects:
            set_controller_reference(raw, obj)
            try:
                applied[_gvk(obj), obj["metadata"]["name"]] = await self._apply(obj)
            except ApiError as err:
                await self._report_refusal(key, raw, service, obj, err)
                raise
        return applied

    async def _apply(self, obj: Obj) -> Obj:
        """Apply ``obj`` unless the cache shows it as last applied; the object as it now is."""
        gvk = GVK.parse(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        digest = _digest(obj)
        cached: Obj | None = self.informers[gvk].store.get(key) if gvk in self.informers else None
        last = self._applied.get((gvk, key))
        if last is not None and cached is not None and last == (digest, _marker(cached)):
            return cached
        resource = await self._resource(gvk)
        # an existing child is written over the version the cache showed: a stale write
        # (a deposed leader's, delivered late) is refused with Conflict
        over = newest_seen(version_of(cached), self._versions.get((gvk, key)))
        body = fenced(obj, over)
        sending = resource.apply(body, field_manager=FIELD_MANAGER, force=True)
        applied = dict(await self.own_writes.write(gvk, body, sending))
        self._applied[gvk, key] = (digest, _marker(applied))
        self._versions[gvk, key] = (version_of(cached), applied["metadata"]["resourceVersion"])
        self._forget_deleted()
        return applied

    def _forget_deleted(self) -> None:
        """Bound the memory of applies: drop objects the caches no longer hold (deleted
        with their service), whenever the memory has doubled since the last sweep."""
        if len(self._applied) <= self._sweep_at:
            return
        self._applied = {
            (gvk, key): value
            for (gvk, key), value in self._applied.items()
            if gvk not in self.informers or key in self.informers[gvk].store
        }
        self._versions = {
            (gvk, key): value
            for (gvk, key), value in self._versions.items()
            if gvk not in self.informers or key in self.informers[gvk].store
        }
        self._sweep_at = max(2 * len(self._applied), 256)

    async def _prune(self, children: list[tuple[GVK, Obj]], rendered: set[tuple[GVK, str]]) -> None:
        """Delete the components' children that are no longer rendered: those of components
        the service no longer declares, and the HorizontalPodAutoscaler once the autoscaler
        class is keda or external, the ScaledObject once it is hpa or external."""
        for gvk, child in children:
            component = (child["metadata"].get("labels") or {}).get(COMPONENT_LABEL)
            if (gvk, child["metadata"]["name"]) in rendered:
                continue
            # the service's own route has no component: it goes with the Gateway API
            if gvk != HTTPROUTE and component not in {str(c) for c in Component}:
                continue
            await self._delete_child(gvk, child)

    def _children_of(self, raw: Obj) -> list[tuple[GVK, Obj]]:
        """The cached children controlled by the service, or by a deleted predecessor of
        its name."""
        meta = raw["metadata"]
        found = []
        for gvk in CHILD_KINDS:
            informer = self.informers.get(gvk)
            if informer is None:
                continue
            for child in informer.store.by_index(
                SERVICE_INDEX, f"{meta['namespace']}/{meta['name']}"
            ):
                owner = controller_of(child)
                if owner is not None and (
                    owner.get("uid") == meta["uid"] or is_predecessor(owner, raw)
                ):
                    found.append((gvk, child))
        return found

    async def _delete_child(self, gvk: GVK, child: Obj, *, insist: bool = False) -> None:
        """Delete the child as cached (not a namesake made since, nor one changed since:
        either is seen again, and its event brings the service back). With ``insist``, a
        child changed since cached raises the Conflict instead: a finalizer is released
        only once its children are gone, so the service is retried over a fresher cache
        (a Deployment's status changes often while it starts)."""
        meta = child["metadata"]
        log.info("deleting child", kind=gvk.kind, name=meta["name"])
        resource = await self._resource(gvk)
        try:
            await resource.delete(
                meta["name"],
                meta["namespace"],
                preconditions=delete_preconditions(child),
                propagation_policy="Background",
            )
        except NotFound:
            pass
        except Conflict:
            if insist:
                raise
        key = f"{meta['namespace']}/{meta['name']}"
        self._applied.pop((gvk, key), None)
        self._versions.pop((gvk, key), None)

    async def _write_status(self, raw: Obj, status: Obj) -> None:
        if status == raw.get("status"):
            return
        meta = raw["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        answered = (_digest(_timeless(status)), meta["resourceVersion"])
        if self._written.get(key) == answered:
            return
        body = {
            "apiVersion": INFERENCESERVICE.api_version,
            "kind": INFERENCESERVICE.kind,
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            "status": status,
        }
        # over the version this reconcile read (or its own last write's answer, newer):
        # a stale write, a deposed leader's delivered late, is refused with Conflict
        over = newest_seen(meta["resourceVersion"], self._versions.get((INFERENCESERVICE, key)))
        services = await self._resource(INFERENCESERVICE)
        sending = services.apply_status(fenced(body, over), field_manager=FIELD_MANAGER, force=True)
        written = await self.own_writes.write(INFERENCESERVICE, body, sending)
        self._versions[INFERENCESERVICE, key] = (
            meta["resourceVersion"],
            written["metadata"]["resourceVersion"],
        )
        self._written[key] = answered
