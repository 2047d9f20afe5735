"""Revisions and canary rollouts of a RawDeployment component.

A revision is what a component serves: its pod template (model, runtime, image, args,
adapters…), named ``{deployment}-{digest}``. The component's Deployment records the
revision it runs and the one rolled out before it in annotations; comparing the spec's
revision with the running one (:func:`plan_rollout`) tells what to do:

- same revision: nothing changes;
- another, and ``canaryTrafficPercent`` below 100: a canary. The Deployment keeps the
  running (stable) revision, a second Deployment ``{deployment}-canary`` with its own
  Service runs the new one at ``minReplicas`` copies, and the HTTPRoutes split the
  traffic by weight (``100 - percent`` / ``percent``);
- another, and no percent (or 100): the Deployment rolls to it by surge (no pod is
  taken down before its replacement is ready) and the canary, if any, is deleted: a
  promotion. Setting the stable spec again during a canary is a rollback: the canary
  goes and the stable revision, which never stopped, takes all traffic at once.

Multi-node components (LeaderWorkerSets) have no revisions here."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from ome.serving.components import Spec
from ome.serving.plan import Workload
from ome.serving.raw import deployment, service

REVISION_ANNOTATION = "serving.ome.io/revision"
PREVIOUS_REVISION_ANNOTATION = "serving.ome.io/previous-revision"
CANARY_SUFFIX = "-canary"
PREVIOUS_TAG = "prev"
"""The stable target's tag in ``status.components.*.traffic``, as upstream's Knative one."""


@dataclass(frozen=True)
class Rollout:
    """What a component runs: the revision its spec asks for, and during a canary the
    stable revision kept beside it."""

    latest: str
    previous: str | None = None
    """The revision rolled out before the current stable one (``previousRolledoutRevision``)."""
    stable: str | None = None
    """During a canary: the revision the Deployment keeps running."""
    stable_template: Spec | None = None
    """During a canary: that revision's pod template, as the Deployment has it."""
    percent: int = 100
    """The latest revision's share of the traffic."""

    @property
    def canary(self) -> bool:
        return self.stable is not None

    @property
    def rolled_out(self) -> str:
        """The revision that has (or, being rolled, is to have) the stable Deployment."""
        return self.stable if self.stable is not None else self.latest


def template_revision(workload: Workload) -> str:
    """The revision of the component's pod template as rendered."""
    template = deployment(workload, "")["spec"]["template"]
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return f"{workload.name}-{digest[:10]}"


def canary_percent(workload: Workload) -> int | None:
    """``canaryTrafficPercent`` when it asks for a split (0 to 99); None otherwise."""
    percent = workload.spec.get("canaryTrafficPercent")
    return percent if isinstance(percent, int) and 0 <= percent < 100 else None


def plan_rollout(workload: Workload, running: Spec | None) -> Rollout:
    """The rollout of ``workload`` given its Deployment as read (None: absent)."""
    latest = template_revision(workload)
    notes = ((running or {}).get("metadata") or {}).get("annotations") or {}
    current = notes.get(REVISION_ANNOTATION)
    previous = notes.get(PREVIOUS_REVISION_ANNOTATION)
    if running is None or current is None or current == latest:
        return Rollout(latest, previous=previous if current == latest else None)
    percent = canary_percent(workload)
    if percent is None:
        return Rollout(latest, previous=current)
    template = (running.get("spec") or {}).get("template")
    return Rollout(
        latest, previous=previous, stable=current, stable_template=template, percent=percent
    )


def canary_workload(workload: Workload) -> Workload:
    """The canary's Deployment and Service: the component's, under another name (so
    its ``app`` label, which the stable Service selects on, differs)."""
    return dataclasses.replace(workload, name=workload.name + CANARY_SUFFIX)


def with_rollout(
    objects: list[Spec], workload: Workload, namespace: str, rollout: Rollout
) -> list[Spec]:
    """The component's objects with the rollout applied: the Deployment annotated with
    its revision (and during a canary keeping the stable template), then the canary's
    Deployment and Service."""
    result = [_stable(obj, workload, rollout) for obj in objects]
    if rollout.canary:
        canary = canary_workload(workload)
        replicas = workload.spec.get("minReplicas")
        body = _annotated(deployment(canary, namespace), rollout.latest, None)
        body["spec"]["replicas"] = replicas if isinstance(replicas, int) and replicas > 0 else 1
        result += [body, service(canary, namespace)]
    return result


def _stable(obj: Spec, workload: Workload, rollout: Rollout) -> Spec:
    if obj["kind"] != "Deployment" or obj["metadata"]["name"] != workload.name:
        return obj
    found = _annotated(obj, rollout.rolled_out, rollout.previous)
    if rollout.stable_template is not None:
        found["spec"] = {**found["spec"], "template": rollout.stable_template}
    return found


def _annotated(obj: Spec, revision: str, previous: str | None) -> Spec:
    notes = dict(obj["metadata"].get("annotations") or {})
    notes[REVISION_ANNOTATION] = revision
    if previous is not None:
        notes[PREVIOUS_REVISION_ANNOTATION] = previous
    return {**obj, "metadata": {**obj["metadata"], "annotations": notes}}


def traffic(rollout: Rollout) -> list[Spec]:
    """``status.components.*.traffic`` as upstream's (Knative) targets: the latest
    revision with its share, and during a canary the stable one tagged ``prev``."""
    latest: Spec = {
        "revisionName": rollout.latest,
        "latestRevision": True,
        "percent": rollout.percent,
    }
    if not rollout.canary:
        return [latest]
    stable = {
        "revisionName": rollout.stable,
        "latestRevision": False,
        "percent": 100 - rollout.percent,
        "tag": PREVIOUS_TAG,
    }
    return [latest, stable]
