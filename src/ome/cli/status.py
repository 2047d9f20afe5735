"""``ome status isvc NAME [-n NAMESPACE] [--kubeconfig PATH] [--context NAME] [-o json|yaml]``:
one InferenceService as the
cluster holds it: its conditions, URL, model, the runtime and why it was chosen, each
component's replicas, its pods and their recent Events.

The runtime verdicts come from the selection the controller runs
(``ome.serving.select_runtime``) over the models and runtimes listed from the cluster
now; the runtime the Deployments run is read from their ``ome.io/serving-runtime``
annotation. Exits 1 when the service does not exist or the cluster cannot be reached."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import yaml

from ome.api.meta import ApiObject
from ome.api.v1beta1 import (
    BaseModel,
    ClusterBaseModel,
    ClusterServingRuntime,
    FineTunedWeight,
    InferenceService,
    ServingRuntime,
)
from ome.cli.explain import _candidates as candidate_lines
from ome.cli.explain import _describe as describe_model
from ome.client import GVK, ApiError, Client, ConfigError, KubeObject, NotFound, load_configuration
from ome.client.config import contexts as kubeconfig_contexts
from ome.controllers.kinds import DEPLOYMENT, INFERENCESERVICE, LEADERWORKERSET, POD
from ome.serving import (
    MemoryCatalog,
    SelectionError,
    ServingError,
    resolve_base_model,
    select_runtime,
)
from ome.serving.adapters import resolve_fine_tuning
from ome.serving.catalog import Model
from ome.serving.metadata import (
    COMPONENT_LABEL,
    INFERENCESERVICE_LABEL,
    SERVING_RUNTIME_ANNOTATION,
)

EVENT = GVK("events.k8s.io", "v1", "Event")
CATALOGUE: tuple[tuple[type[ApiObject], bool], ...] = (
    (BaseModel, True),
    (ClusterBaseModel, False),
    (ServingRuntime, True),
    (ClusterServingRuntime, False),
    (FineTunedWeight, False),
)
"""The kinds a service's model, runtime and adapters are found among, and whether
namespaced."""
COMPONENT_ORDER = ("engine", "decoder", "router")
EVENTS_SHOWN = 10
PODS_WITH_EVENTS = 20
"""The Events of at most this many pods are read (a large service has many)."""
TIMEOUT = 10.0
DEFAULT_NAMESPACE = "default"
OUTPUTS = ("json", "yaml")


class Unavailable(Exception):
    """The report cannot be made: the message says why."""


def register(commands: Any) -> Any:
    """Adds ``ome status isvc``; returns the KIND subcommands, for other kinds to join."""
    status = commands.add_parser(
        "status",
        help="show the state of an object in the cluster, and why",
        description="show the state of an object in the cluster, and why",
    )
    kinds = status.add_subparsers(dest="kind", metavar="KIND", required=True)
    parser = kind_command(
        kinds,
        "isvc",
        ["inferenceservice"],
        "an InferenceService: conditions, model, runtime, components, pods, Events",
        __doc__,
    )
    parser.add_argument(
        "-n",
        "--namespace",
        help="the service's namespace (default: the kubeconfig context's, else default)",
    )
    parser.set_defaults(handler=run)
    return kinds


def kind_command(
    kinds: Any, name: str, aliases: list[str], summary: str, doc: str | None
) -> argparse.ArgumentParser:
    """``ome status KIND NAME [--kubeconfig PATH] [--context NAME] [-o json|yaml]``, for the
    caller to add its options to and set its handler on. The flags are kubectl's, so that
    ``kubectl ome status`` reads as any kubectl command does."""
    parser: argparse.ArgumentParser = kinds.add_parser(
        name, aliases=aliases, help=summary, description=doc.split("\n\n")[0] if doc else None
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube)"
    )
    parser.add_argument(
        "--context", metavar="NAME", help="kubeconfig context (default: its current-context)"
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        help="print what was read from the cluster as JSON or YAML instead of the report",
    )
    return parser


async def get_named(client: Client, kind: GVK, name: str) -> KubeObject:
    """The cluster-scoped object, or :class:`Unavailable` saying what is missing."""
    try:
        resource = await client.resource(kind)
    except NotFound as err:
        raise Unavailable(f"the cluster does not serve {kind.kind}s: {err.message}") from err
    try:
        found: KubeObject = await resource.get(name)
    except NotFound as err:
        raise Unavailable(f"{kind.kind} {name!r} not found") from err
    return found


def run(args: argparse.Namespace) -> int:
    namespace = args.namespace or _context_namespace(args.kubeconfig, args.context)
    return run_report(args, lambda client: observe(client, namespace, args.name), report)


def run_report(
    args: argparse.Namespace,
    observe: Callable[[Client], Awaitable[KubeObject]],
    report: Callable[[KubeObject, datetime], str],
) -> int:
    """What every ``ome status KIND`` does: read what ``observe`` gathers from the cluster
    (through ``args.kubeconfig`` and ``args.context``) and print its ``report``, or the
    data itself in the ``args.output`` format; exit 1 with the reason when it cannot."""
    kubeconfig: str | None = args.kubeconfig
    if kubeconfig and not Path(kubeconfig).is_file():
        print(f"error: {kubeconfig}: no such kubeconfig file", file=sys.stderr)
        return 1
    try:
        observed = asyncio.run(_observe_with_client(kubeconfig, args.context, observe))
    except Unavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.output:
        print(formatted(observed, args.output), end="")
    else:
        print(report(observed, datetime.now(UTC)), end="")
    return 0


def formatted(observed: Mapping[str, Any], output: str) -> str:
    """What was read, as ``kubectl get -o json|yaml`` would print it."""
    text = json.dumps(observed, indent=2, sort_keys=True, default=_plain)
    if output == "json":
        return text + "\n"
    return yaml.safe_dump(json.loads(text), sort_keys=True)


def _plain(value: object) -> object:
    """A value JSON has no type for: a record (e.g. a node's report) as its fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


# -- gathering (I/O) ---------------------------------------------------------------------


def _context_namespace(kubeconfig: str | None, context: str | None = None) -> str:
    """The namespace of the given context, else of the current one, as kubectl defaults it."""
    try:
        contexts, active = kubeconfig_contexts(kubeconfig)
    except (ConfigError, OSError):
        return DEFAULT_NAMESPACE
    if context is not None:
        active = next((c for c in contexts or [] if c.get("name") == context), None)
    namespace = ((active or {}).get("context") or {}).get("namespace")
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


async def _observe_with_client(
    kubeconfig: str | None,
    context: str | None,
    observe: Callable[[Client], Awaitable[KubeObject]],
) -> KubeObject:
    try:
        configuration = await load_configuration(kubeconfig, context)
    except (ConfigError, OSError) as err:
        raise Unavailable(f"no cluster to talk to: {_one_line(err)}") from err
    async with Client(configuration, timeout=TIMEOUT) as client:
        try:
            return await observe(client)
        except (OSError, TimeoutError) as err:
            why = _one_line(err) or type(err).__name__
            raise Unavailable(
                f"cannot reach the API server at {configuration.host}: {why}"
            ) from err
        except ApiError as err:
            raise Unavailable(
                f"the API server answered {err.status} {err.reason}: {err.message}"
            ) from err


async def observe(client: Client, namespace: str, name: str) -> KubeObject:
    """Everything the report shows, read from the cluster, as plain dicts."""
    try:
        services = await client.resource(INFERENCESERVICE)
    except NotFound as err:
        raise Unavailable(f"the cluster does not serve InferenceServices: {err.message}") from err
    try:
        service: KubeObject = await services.get(name, namespace)
    except NotFound as err:
        raise Unavailable(
            f"InferenceService {name!r} not found in namespace {namespace!r}"
        ) from err
    selector = f"{INFERENCESERVICE_LABEL}={name}"
    notes: list[str] = []
    deployments_client = await client.resource(DEPLOYMENT)
    pods_client = await client.resource(POD)
    deployments, groups, pods, *catalogue = await asyncio.gather(
        deployments_client.list(namespace, label_selector=selector),
        _groups(client, namespace, selector),
        pods_client.list(namespace, label_selector=selector),
        *(
            _list_kind(client, kind, namespace if namespaced else None, notes)
            for kind, namespaced in CATALOGUE
        ),
    )
    workloads = [*deployments, *groups]
    regarding = [
        name,
        *(d["metadata"]["name"] for d in workloads),
        *(p["metadata"]["name"] for p in pods[:PODS_WITH_EVENTS]),
    ]
    events = await _events(client, namespace, regarding, notes)
    return {
        "service": service,
        "catalogue": [obj for listed in catalogue for obj in listed],
        "workloads": workloads,
        "pods": pods,
        "events": events,
        "notes": notes,
    }


async def _groups(client: Client, namespace: str, selector: str) -> list[KubeObject]:
    """The service's LeaderWorkerSets; none where the cluster does not serve them."""
    try:
        resource = await client.resource(LEADERWORKERSET)
    except NotFound:
        return []
    found: list[KubeObject] = await resource.list(namespace, label_selector=selector)
    return found


async def _list_kind(
    client: Client, kind: type[ApiObject], namespace: str | None, notes: list[str]
) -> list[KubeObject]:
    try:
        resource = await client.resource(GVK.parse(kind.API_VERSION, kind.KIND))
        return await resource.list(namespace)
    except ApiError as err:  # e.g. no right to list cluster-scoped kinds
        notes.append(f"{kind.PLURAL} not listed ({err.reason}): the verdicts may be incomplete")
        return []


async def _events(
    client: Client, namespace: str, names: Sequence[str], notes: list[str]
) -> list[KubeObject]:
    """The Events regarding any of ``names`` in the namespace."""
    try:
        events = await client.resource(EVENT)
        found = await asyncio.gather(
            *(events.list(namespace, field_selector=f"regarding.name={n}") for n in names)
        )
    except ApiError as err:
        notes.append(f"Events not listed ({err.reason})")
        return []
    unique = {e["metadata"]["uid"]: e for listed in found for e in listed}
    return list(unique.values())


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


# -- the report (pure) -------------------------------------------------------------------


def report(observed: Mapping[str, Any], now: datetime) -> str:
    """The text report on one service. ``observed`` holds plain API objects (dicts):
    ``service``; ``catalogue``, the models and runtimes in its scope; its ``deployments``,
    ``pods`` and ``events``; and ``notes`` on what could not be read."""
    service: KubeObject = observed["service"]
    meta, status = service.get("metadata") or {}, service.get("status") or {}
    workloads: list[KubeObject] = list(observed.get("workloads") or [])
    lines = [f"InferenceService {meta.get('namespace', '')}/{meta.get('name', '')}"]
    lines += _summary(service, now)
    lines += _conditions(status.get("conditions") or [], now)
    lines += _model_and_runtime(service, observed.get("catalogue") or [], workloads)
    lines += _components(workloads)
    lines += _pods(observed.get("pods") or [], now)
    lines += _events_section(observed.get("events") or [], now)
    lines += [f"Note: {note}" for note in observed.get("notes") or []]
    return "\n".join(lines) + "\n"


def _summary(service: KubeObject, now: datetime) -> list[str]:
    meta, status = service.get("metadata") or {}, service.get("status") or {}
    ready = _condition(status, "Ready")
    if ready is None:
        verdict = "Unknown: no status yet (is the controller running?)"
    else:
        verdict = ready.get("status", "Unknown")
        why = ": ".join(p for p in (ready.get("reason"), ready.get("message")) if p)
        verdict += f" ({why})" if why else ""
        since = _age(ready.get("lastTransitionTime"), now)
        verdict += f", for {since}" if since != "?" else ""
    lines = [f"Ready:       {verdict}", f"URL:         {status.get('url') or '<none>'}"]
    address = (status.get("address") or {}).get("url")
    if address:
        lines.append(f"Address:     {address}")
    observed, generation = status.get("observedGeneration"), meta.get("generation")
    if observed is not None and generation is not None and observed < generation:
        lines.append(
            f"Generation:  {generation}, status written for {observed} (the controller has "
            "not caught up)"
        )
    if meta.get("deletionTimestamp"):
        lines.append(f"Deleting:    since {_age(meta['deletionTimestamp'], now)}")
    return lines


def _condition(status: Mapping[str, Any], kind: str) -> KubeObject | None:
    for condition in status.get("conditions") or ():
        if condition.get("type") == kind:
            found: KubeObject = condition
            return found
    return None


def _conditions(conditions: Sequence[KubeObject], now: datetime) -> list[str]:
    if not conditions:
        return ["Conditions:  <none>"]
    rows = [
        [
            c.get("type", ""),
            c.get("status", ""),
            c.get("reason", ""),
            _age(c.get("lastTransitionTime"), now),
            c.get("message", ""),
        ]
        for c in sorted(conditions, key=lambda c: (c.get("type") != "Ready", c.get("type", "")))
    ]
    return ["Conditions:", *_table(["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], rows)]


def _model_and_runtime(
    service: KubeObject, catalogue: Iterable[KubeObject], deployments: Sequence[KubeObject]
) -> list[str]:
    """The model and the runtime, each resolved as the controller resolves them now."""
    running = sorted(
        {
            d["metadata"].get("annotations", {}).get(SERVING_RUNTIME_ANNOTATION, "")
            for d in deployments
        }
        - {""}
    )
    ref = (service.get("spec") or {}).get("model") or {}
    kind = ref.get("kind") or "BaseModel or ClusterBaseModel"
    lines = [f"Model:       {kind} {ref.get('name') or '<unset>'}"]
    lines += _model_status(service)
    try:
        typed = InferenceService.model_validate(service)
    except pydantic.ValidationError as err:
        lines.append(
            f"Runtime:     not checked: the service is invalid ({err.error_count()} errors)"
        )
        return lines
    if typed.spec.model is not None:  # with the API's default kind
        lines[0] = f"Model:       {typed.spec.model.kind or kind} {typed.spec.model.name}"
    catalog = MemoryCatalog.of(_valid(catalogue))
    try:
        model = resolve_base_model(typed, catalog)
    except ServingError as err:
        lines[0] += f": {err.reason}: {err.message}"
        lines.append(f"Runtime:     not selected without a model{_running(running)}")
        return lines
    lines[0] = f"Model:       {describe_model(model)}{_model_state(model)}"
    try:
        selection = select_runtime(typed, model, catalog)
    except SelectionError as err:
        lines.append(f"Runtime:     none: {err.reason}: {err.message}{_running(running)}")
        return lines + candidate_lines(err.candidates)
    except ServingError as err:
        lines.append(f"Runtime:     none: {err.reason}: {err.message}{_running(running)}")
        return lines
    how = "auto-selected" if selection.auto_selected else "named in spec.runtime"
    lines.append(f"Runtime:     {selection.runtime.KIND} {selection.name} ({how})")
    others = [r for r in running if r != selection.name]
    if others:
        lines.append(
            f"             the Deployments run {', '.join(others)}: a serving service is "
            "selected again only when it, its model or its runtime changes"
        )
    return lines + candidate_lines(selection.candidates) + _fine_tuned(typed, model, catalog)


def _fine_tuned(service: InferenceService, model: Model, catalog: MemoryCatalog) -> list[str]:
    """The weights the service names, each with its state on the nodes."""
    names = (service.spec.model.fine_tuned_weights if service.spec.model else None) or []
    if not names:
        return []
    try:
        resolve_fine_tuning(service, model, catalog)
    except ServingError as err:
        return [f"Adapters:    {', '.join(names)}: {err.reason}: {err.message}"]
    lines = ["Adapters:"]
    for name in names:
        weight = catalog.fine_tuned_weight(name)
        state = _model_state(weight) if weight is not None else ""
        lines.append(f"  {name}{state}")
    return lines


def _running(runtimes: Sequence[str]) -> str:
    return f" (the Deployments run {', '.join(runtimes)})" if runtimes else ""


def _valid(objects: Iterable[KubeObject]) -> list[ApiObject]:
    """The catalogue objects that validate (the controller skips the others too)."""
    kinds: dict[str, type[ApiObject]] = {kind.KIND: kind for kind, _ in CATALOGUE}
    valid = []
    for obj in objects:
        kind = kinds.get(obj.get("kind", ""))
        if kind is None:
            continue
        try:
            valid.append(kind.model_validate(obj))
        except pydantic.ValidationError:
            continue
    return valid


def _model_state(model: Model | FineTunedWeight) -> str:
    if model.status is None:
        return "; state: <none>"
    ready = len(model.status.nodes_ready or ())
    failed = len(model.status.nodes_failed or ())
    where = f", ready on {ready} nodes" + (f", failed on {failed}" if failed else "")
    return f"; state: {model.status.state}{where}"


def _model_status(service: KubeObject) -> list[str]:
    """``status.modelStatus``: the model as the service's pods load it."""
    model = (service.get("status") or {}).get("modelStatus") or {}
    if not model:
        return []
    states = model.get("modelRevisionStates") or {}
    target, transition = states.get("targetModelState"), model.get("transitionStatus")
    text = f"  loading: {target or '?'} ({transition or '?'})"
    copies = model.get("modelCopies") or {}
    if copies.get("totalCopies") is not None:
        text += f"; copies: {copies['totalCopies']} ({copies.get('failedCopies', 0)} failed)"
    lines = [text]
    failure = model.get("lastFailureInfo") or {}
    if failure:
        detail = ": ".join(str(p) for p in (failure.get("reason"), failure.get("message")) if p)
        code = failure.get("exitCode")
        lines.append(f"  last failure: {detail}" + (f" (exit code {code})" if code else ""))
    return lines


def _components(workloads: Sequence[KubeObject]) -> list[str]:
    """One row per Deployment or LeaderWorkerSet (whose replicas are groups)."""
    if not workloads:
        return ["Components:  <none> (no Deployment labelled with the service's name)"]

    def order(d: KubeObject) -> tuple[int, str]:
        component = _labels(d).get(COMPONENT_LABEL, "")
        rank = COMPONENT_ORDER.index(component) if component in COMPONENT_ORDER else 99
        return rank, d["metadata"]["name"]

    rows = []
    for d in sorted(workloads, key=order):
        spec, status = d.get("spec") or {}, d.get("status") or {}
        name = d["metadata"]["name"]
        if d.get("kind") == LEADERWORKERSET.kind:
            size = (spec.get("leaderWorkerTemplate") or {}).get("size", 1)
            name = f"{name} (LeaderWorkerSet, groups of {size})"
            available = str(status.get("readyReplicas", 0))
        else:
            available = str(status.get("availableReplicas", 0))
        rows.append(
            [
                _labels(d).get(COMPONENT_LABEL, "?"),
                name,
                str(spec.get("replicas", 1)),
                str(status.get("readyReplicas", 0)),
                str(status.get("updatedReplicas", 0)),
                available,
            ]
        )
    header = ["COMPONENT", "WORKLOAD", "DESIRED", "READY", "UP-TO-DATE", "AVAILABLE"]
    return ["Components:", *_table(header, rows)]


def _pods(pods: Sequence[KubeObject], now: datetime) -> list[str]:
    if not pods:
        return ["Pods:        <none>"]
    rows = []
    for pod in sorted(
        pods, key=lambda p: (_labels(p).get(COMPONENT_LABEL, ""), p["metadata"]["name"])
    ):
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        ready = sum(bool(s.get("ready")) for s in statuses)
        total = len((pod.get("spec") or {}).get("containers") or statuses)
        rows.append(
            [
                pod["metadata"]["name"],
                _labels(pod).get(COMPONENT_LABEL, "?"),
                _pod_state(pod),
                f"{ready}/{total}",
                str(sum(int(s.get("restartCount", 0)) for s in statuses)),
                (pod.get("spec") or {}).get("nodeName") or "<none>",
                _age(pod["metadata"].get("creationTimestamp"), now),
            ]
        )
    header = ["NAME", "COMPONENT", "STATUS", "READY", "RESTARTS", "NODE", "AGE"]
    return ["Pods:", *_table(header, rows)]


def _pod_state(pod: KubeObject) -> str:
    """The phase, or the reason a container is stuck (as ``kubectl get pods`` shows it)."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    for field in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(field) or ():
            state = container.get("state") or {}
            waiting = state.get("waiting") or {}
            terminated = state.get("terminated") or {}
            if waiting.get("reason") and waiting["reason"] != "PodInitializing":
                return str(waiting["reason"])
            if terminated.get("reason") and terminated.get("exitCode", 0) != 0:
                return str(terminated["reason"])
    unschedulable = _condition(status, "PodScheduled")
    if unschedulable is not None and unschedulable.get("status") == "False":
        return str(unschedulable.get("reason") or "Pending")
    return str(status.get("phase") or "Unknown")


def _events_section(events: Sequence[KubeObject], now: datetime) -> list[str]:
    if not events:
        return ["Events:      <none>"]
    recent = sorted(events, key=_event_time)[-EVENTS_SHOWN:]
    rows = []
    for event in recent:
        regarding = event.get("regarding") or {}
        series = event.get("series") or {}
        count = series.get("count") or event.get("deprecatedCount") or 1
        note = " ".join(str(event.get("note") or "").split())
        rows.append(
            [
                _age(_event_time(event) or None, now),
                event.get("type", ""),
                event.get("reason", ""),
                f"{regarding.get('kind', '')}/{regarding.get('name', '')}",
                note + (f" (x{count})" if count > 1 else ""),
            ]
        )
    title = (
        f"Events (last {len(recent)} of {len(events)}):" if len(events) > len(recent) else "Events:"
    )
    return [title, *_table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows)]


def _event_time(event: KubeObject) -> str:
    """When the Event was last seen, as an RFC 3339 string ("" when unknown)."""
    candidates = (
        (event.get("series") or {}).get("lastObservedTime"),
        event.get("deprecatedLastTimestamp"),
        event.get("eventTime"),
        (event.get("metadata") or {}).get("creationTimestamp"),
    )
    found = next((t for t in candidates if t), "")
    moment = _parse_time(found)
    return moment.isoformat() if moment is not None else ""


def _labels(obj: KubeObject) -> dict[str, str]:
    labels: dict[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _age(value: Any, now: datetime) -> str:
    """How long ago, as kubectl writes it: 45s, 12m, 5h, 3d ("?" when unknown)."""
    moment = _parse_time(value)
    if moment is None:
        return "?"
    seconds = max(int((now - moment).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns, two spaces apart, the last one unpadded (as kubectl prints)."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join([*cells, row[-1]])).rstrip())
    return lines
