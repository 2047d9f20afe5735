"""The invariants the chaos runner checks, as pure functions of what it read from the
API server, its audit log and the replicas' processes. Each returns the violations it
found, one readable line each; an empty list means the invariant holds."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SERVICE_LABEL = "ome.io/inferenceservice"
LEASE_RESOURCE = "leases"
# Writes any replica may make, leader or not: the webhook server's certificate and its
# configurations (every replica serves webhooks), the lease itself, Events, and the
# reviews that are "create" requests but write nothing.
ANY_REPLICA_RESOURCES = frozenset(
    {
        LEASE_RESOURCE,
        "events",
        "secrets",
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
        "tokenreviews",
        "subjectaccessreviews",
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
    }
)
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class Desired:
    """What the last write of the driver asks of one service."""

    namespace: str
    name: str
    model: str
    runtime: str
    replicas: int

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Catalogue:
    """What a child must show of its model and runtime: the runtime's image, the model's
    path on the node."""

    images: Mapping[str, str]
    model_paths: Mapping[str, str]


def is_ready(obj: Mapping[str, Any]) -> bool:
    """The Ready condition is True (the integration tests' notion of a ready service)."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    for owner in obj["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner["uid"])
    return None


def convergence_problems(
    desired: Desired | None,
    key: str,
    *,
    service: Mapping[str, Any] | None,
    deployments: Sequence[Mapping[str, Any]],
    services: Sequence[Mapping[str, Any]],
    catalogue: Catalogue,
) -> list[str]:
    """Why the service ``key`` is not (yet) what its last spec asks: nothing left of it
    once deleted; else Ready, with exactly one engine Deployment (the asked replicas,
    the runtime's image, the model's path) and its two Services, all controlled by it."""
    if desired is None:
        left = [f"{c.get('kind', 'child')}/{c['metadata']['name']}" for c in deployments]
        left += [f"Service/{c['metadata']['name']}" for c in services]
        if service is not None:
            left.insert(0, "the InferenceService")
        return [f"{key}: deleted, but {', '.join(left)} still there"] if left else []
    if service is None:
        return [f"{key}: missing"]
    problems = []
    if not is_ready(service):
        problems.append(f"{key}: not Ready")
    uid = service["metadata"]["uid"]
    if len(deployments) != 1:
        problems.append(f"{key}: {len(deployments)} Deployments, want 1")
    for deployment in deployments:
        problems += _deployment_problems(key, deployment, uid, desired, catalogue)
    names = sorted(s["metadata"]["name"] for s in services)
    want = sorted([desired.name, f"{desired.name}-engine"])
    if names != want:
        problems.append(f"{key}: Services {names}, want {want}")
    for child in services:
        if controller_uid(child) != uid:
            problems.append(f"{key}: Service/{child['metadata']['name']} not controlled by it")
    return problems


def _deployment_problems(
    key: str,
    deployment: Mapping[str, Any],
    uid: str,
    desired: Desired,
    catalogue: Catalogue,
) -> list[str]:
    name = f"Deployment/{deployment['metadata']['name']}"
    problems = []
    if controller_uid(deployment) != uid:
        problems.append(f"{key}: {name} not controlled by it")
    spec = deployment.get("spec") or {}
    if spec.get("replicas") != desired.replicas:
        problems.append(
            f"{key}: {name} has {spec.get('replicas')} replicas, want {desired.replicas}"
        )
    pod = (spec.get("template") or {}).get("spec") or {}
    images = {c.get("image") for c in pod.get("containers") or []}
    image = catalogue.images[desired.runtime]
    if image not in images:
        problems.append(f"{key}: {name} runs {sorted(map(str, images))}, want {image}")
    if catalogue.model_paths[desired.model] not in json.dumps(pod):
        problems.append(f"{key}: {name} does not mount model {desired.model}")
    return problems


def structure_problems(
    services: Iterable[Mapping[str, Any]], children: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Orphans and duplicates among the labelled children of every kind: each must be
    controlled by the live service its label names, and no two children of one service
    may share a kind and name (by construction they cannot) or a component label."""
    live = {
        (s["metadata"]["namespace"], s["metadata"]["name"]): s["metadata"]["uid"] for s in services
    }
    problems = []
    components: Counter[tuple[str, str, str, str]] = Counter()
    for child in children:
        meta = child["metadata"]
        owner = meta.get("labels", {}).get(SERVICE_LABEL, "")
        what = f"{child.get('kind', 'child')} {meta['namespace']}/{meta['name']}"
        uid = live.get((meta["namespace"], owner))
        if meta.get("deletionTimestamp"):
            continue  # being collected
        if uid is None or controller_uid(child) != uid:
            problems.append(f"orphan: {what} (labelled for {owner!r})")
        component = meta.get("labels", {}).get("component")
        if component and child.get("kind") == "Deployment":
            components[(meta["namespace"], owner, component, "Deployment")] += 1
    for (namespace, owner, component, kind), count in components.items():
        if count > 1:
            problems.append(f"duplicate: {count} {kind}s for {namespace}/{owner} {component}")
    return problems


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Tenure:
    user: str
    start: datetime
    renewed: datetime
    lease_seconds: float


def leader_writes_problems(events: Iterable[Mapping[str, Any]], lease: str) -> list[str]:
    """Writes a replica's user made while it did not hold the lease: from the audit log,
    the successful writes of the Lease ``lease`` (their request bodies name the holder)
    give who led when, and every other successful write must come from the holder of the
    moment, received no later than its last renewal plus the lease duration.

    A write the server received after the writer's tenure ended (a deposed leader's,
    delivered late) is allowed when it was fenced (see :func:`is_fenced`): the API server
    checked it against the object as it then was, so it overwrote nothing newer."""
    ordered = sorted(
        (e for e in events if _succeeded(e) and e.get("verb") in WRITE_VERBS),
        key=lambda e: e["stageTimestamp"],
    )
    holder: Tenure | None = None
    tenures: list[tuple[datetime, Tenure | None]] = []
    writes = []
    for event in ordered:
        ref = event.get("objectRef") or {}
        user = (event.get("user") or {}).get("username", "")
        if ref.get("resource") == LEASE_RESOURCE and ref.get("name") == lease:
            spec = ((event.get("requestObject") or {}).get("spec")) or {}
            stamp = _time(event["stageTimestamp"])
            seconds = float(spec.get("leaseDurationSeconds") or 15)
            if not spec.get("holderIdentity"):
                holder = None
            elif holder is not None and holder.user == user:
                holder = Tenure(user, holder.start, stamp, seconds)
            else:
                holder = Tenure(user, stamp, stamp, seconds)
            tenures.append((stamp, holder))
        elif ref.get("resource") not in ANY_REPLICA_RESOURCES:
            writes.append(event)
    problems = []
    for event in writes:
        received = _time(event["requestReceivedTimestamp"])
        user = (event.get("user") or {}).get("username", "")
        current = _holder_at(tenures, received)
        if is_fenced(event) and _held_before(tenures, user, received):
            continue
        if current is None or current.user != user:
            who = current.user if current else "nobody"
            problems.append(f"{_describe(event)} by {user} while {who} held the lease")
        elif (received - current.renewed).total_seconds() > current.lease_seconds:
            problems.append(f"{_describe(event)} by {user} after its lease expired")
    return problems


def is_fenced(event: Mapping[str, Any]) -> bool:
    """A write the API server accepted only because nothing newer was there: an update,
    patch or apply naming the resourceVersion it was made over, a delete with a
    resourceVersion precondition, or a create (including an apply that created: answered
    201) of an object whose owner reference names its owner's UID, which the garbage
    collector deletes if that owner is gone."""
    body = event.get("requestObject") or {}
    if not isinstance(body, Mapping):
        return False  # a JSON patch: a list of operations
    verb = event.get("verb")
    code = int((event.get("responseStatus") or {}).get("code", 0))
    meta = body.get("metadata") or {}
    if verb == "create" or (verb == "patch" and code == 201):
        return any(owner.get("uid") for owner in meta.get("ownerReferences") or [])
    if verb in ("update", "patch"):
        return bool(meta.get("resourceVersion"))
    if verb == "delete":
        return bool((body.get("preconditions") or {}).get("resourceVersion"))
    return False


def _held_before(
    tenures: Sequence[tuple[datetime, Tenure | None]], user: str, when: datetime
) -> bool:
    """Whether ``user`` held the lease at some point before ``when``."""
    return any(t is not None and t.user == user for stamp, t in tenures if stamp <= when)


def _holder_at(tenures: Sequence[tuple[datetime, Tenure | None]], when: datetime) -> Tenure | None:
    current = None
    for stamp, tenure in tenures:
        if stamp > when:
            break
        current = tenure
    return current


def _succeeded(event: Mapping[str, Any]) -> bool:
    return int((event.get("responseStatus") or {}).get("code", 0)) < 300


def _describe(event: Mapping[str, Any]) -> str:
    ref = event.get("objectRef") or {}
    where = "/".join(p for p in (ref.get("namespace"), ref.get("name")) if p)
    sub = f"/{ref['subresource']}" if ref.get("subresource") else ""
    what = f"{ref.get('resource')}{sub} {where}"
    return f"{event.get('requestReceivedTimestamp')} {event.get('verb')} {what}"


def user_object_problems(
    expected: Mapping[str, tuple[str, Mapping[str, Any]]],
    found: Mapping[str, tuple[str, Mapping[str, Any]]],
) -> list[str]:
    """Objects the user made and never deleted: each still there (same UID, so not
    deleted and recreated) with the content the user gave it. Keyed by a description,
    valued (uid, content)."""
    problems = []
    for key, (uid, content) in expected.items():
        if key not in found:
            problems.append(f"user object deleted: {key}")
        elif found[key][0] != uid:
            problems.append(f"user object deleted and recreated: {key}")
        elif found[key][1] != content:
            problems.append(f"user object overwritten: {key}")
    return problems


@dataclass(frozen=True)
class ProcessSample:
    """One replica process at a quiet moment (every service converged)."""

    replica: str
    pid: int
    rss_bytes: int
    tasks: int
    fds: int


RSS_GROWTH = 1.5
RSS_SLACK = 32 * 1024 * 1024
TASK_GROWTH = 1.5
TASK_SLACK = 20
FD_GROWTH = 1.5
FD_SLACK = 20


def leak_problems(samples: Sequence[ProcessSample]) -> list[str]:
    """Memory, asyncio tasks and open file descriptors flat: a process sampled at two or
    more quiet moments may not end with more than 1.5x (plus some slack for caches and
    connections warming) of what it had at the first of them."""
    problems = []
    by_process: dict[tuple[str, int], list[ProcessSample]] = {}
    for sample in samples:
        by_process.setdefault((sample.replica, sample.pid), []).append(sample)
    for (replica, pid), series in by_process.items():
        if len(series) < 2:
            continue
        first, last = series[0], series[-1]
        if last.rss_bytes > first.rss_bytes * RSS_GROWTH + RSS_SLACK:
            problems.append(
                f"{replica} (pid {pid}): RSS grew from {first.rss_bytes >> 20} MiB "
                f"to {last.rss_bytes >> 20} MiB"
            )
        if last.tasks > first.tasks * TASK_GROWTH + TASK_SLACK:
            problems.append(
                f"{replica} (pid {pid}): asyncio tasks grew from {first.tasks} to {last.tasks}"
            )
        if last.fds > first.fds * FD_GROWTH + FD_SLACK:
            problems.append(
                f"{replica} (pid {pid}): open file descriptors grew from {first.fds} to {last.fds}"
            )
    return problems


RECONCILE_FAILURES = frozenset(
    {"reconcile failed; will retry", "reconcile timed out", "reconcile failed for good"}
)
"""The framework's log events of a failed reconcile (a quiet 409 is logged at debug)."""


SHOWN_SLACK = timedelta(seconds=1)
"""Event times have a precision of a second at worst (``lastTimestamp``)."""


@dataclass(frozen=True)
class ReconcileError:
    at: datetime
    key: str
    """namespace/name of the object reconciled."""
    error: str


def reconcile_errors(
    lines: Iterable[str], controller: str, quiet: Sequence[tuple[datetime, datetime]]
) -> list[ReconcileError]:
    """The reconcile errors of ``controller`` in a replica's JSON log lines, but those
    logged within a ``quiet`` window (a fault on, the API server away or the replica
    deposed: errors are expected then, and nothing can show them). Lines that are not
    JSON (a traceback printed before logging was set up) are skipped."""
    found = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("event") not in RECONCILE_FAILURES:
            continue
        if entry.get("controller") != controller or "timestamp" not in entry:
            continue
        at = _time(entry["timestamp"])
        if any(start <= at <= end for start, end in quiet):
            continue
        last = (entry.get("exception") or entry.get("error") or "").strip().splitlines()
        key = f"{entry.get('namespace')}/{entry.get('name')}"
        found.append(ReconcileError(at, key, last[-1] if last else str(entry["event"])))
    return found


def invisible_error_problems(
    errors: Iterable[ReconcileError],
    live: Iterable[str],
    shown: Mapping[str, datetime],
) -> list[str]:
    """Every reconcile error of a service still there must have been visible to its
    owner: ``shown`` gives, per service, the last time it was seen with a Ready=False
    condition with a reason or named by a Warning Event; it must be no earlier than the
    service's first error since the last check. A service deleted since shows nothing."""
    first: dict[str, ReconcileError] = {}
    for error in errors:
        if error.key not in first or error.at < first[error.key].at:
            first[error.key] = error
    alive = set(live)
    problems = []
    for key, error in sorted(first.items()):
        seen = shown.get(key)
        if key in alive and (seen is None or seen < error.at - SHOWN_SLACK):
            stamp = error.at.isoformat()
            problems.append(f"{key}: reconcile error at {stamp} never shown: {error.error}")
    return problems


def warning_events_shown(events: Iterable[Mapping[str, Any]], kind: str) -> dict[str, datetime]:
    """Per object of ``kind`` (namespace/name), the last time a Warning Event named it."""
    shown: dict[str, datetime] = {}
    for event in events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        if event.get("type") != "Warning" or involved.get("kind") != kind:
            continue
        stamp = (
            (event.get("series") or {}).get("lastObservedTime")
            or event.get("lastTimestamp")
            or event.get("eventTime")
            or (event.get("metadata") or {}).get("creationTimestamp")
        )
        if not stamp:
            continue
        key = f"{involved.get('namespace')}/{involved.get('name')}"
        at = _time(stamp)
        shown[key] = max(shown.get(key, at), at)
    return shown


def shows_failure(obj: Mapping[str, Any]) -> bool:
    """A Ready=False condition with a reason: the service tells why it is not ready."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "Ready" and c.get("status") == "False" and c.get("reason")
        for c in conditions
    )
