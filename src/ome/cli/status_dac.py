"""``ome status dac NAME [--kubeconfig PATH]``: one DedicatedAICluster as the cluster holds
it: its profile and units, its state with the reason, the GPUs free and allocated, the
nodes holding it, its placeholders, the workloads using it and its recent Events. Exits 1
when the DAC does not exist or the cluster cannot be reached."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ome.api.v1beta1 import DedicatedAICluster
from ome.cli.status import (
    EVENT,
    _age,
    _conditions,
    _events_section,
    get_named,
    kind_command,
    run_report,
)
from ome.client import ApiError, Client, KubeObject, NotFound
from ome.controllers.kinds import DEDICATEDAICLUSTER, DEDICATEDAICLUSTERPROFILE, POD
from ome.serving.dedicated import (
    DAC_LABEL,
    DacProblem,
    is_live,
    is_placed,
    is_placeholder,
    label_value,
    pod_gpus,
    profile_name,
    resolve,
)
from ome.serving.metadata import INFERENCESERVICE_LABEL

DAC = DEDICATEDAICLUSTER
PROFILE = DEDICATEDAICLUSTERPROFILE


def register(kinds: Any) -> None:
    summary = "a DedicatedAICluster: units, state, GPUs, nodes, workloads, Events"
    kind_command(kinds, "dac", ["dedicatedaicluster"], summary, __doc__).set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return run_report(args, lambda client: observe(client, args.name), report)


async def observe(client: Client, name: str) -> KubeObject:
    """The DAC, its profile, its pods (placeholders and workloads) and its Events."""
    dac = await get_named(client, DAC, name)
    notes: list[str] = []
    profile: KubeObject | None = None
    wanted = profile_name(dac)
    if wanted:
        try:
            profile = await (await client.resource(PROFILE)).get(wanted)
        except NotFound:
            profile = None
        except ApiError as err:
            notes.append(f"profile not read ({err.reason})")
    pods: list[KubeObject] = []
    try:
        pods = await (await client.resource(POD)).list(
            None, label_selector=f"{DAC_LABEL}={label_value(name)}"
        )
    except ApiError as err:
        notes.append(f"pods not listed ({err.reason}): workloads unknown")
    events: list[KubeObject] = []
    try:
        events = await (await client.resource(EVENT)).list(
            None, field_selector=f"regarding.name={name},regarding.kind={DedicatedAICluster.KIND}"
        )
    except ApiError as err:
        notes.append(f"Events not listed ({err.reason})")
    return {"dac": dac, "profile": profile, "pods": pods, "events": events, "notes": notes}


def report(observed: Mapping[str, Any], now: datetime) -> str:
    """The text report on one DAC (pure: ``observed`` as :func:`observe` gives it)."""
    dac: KubeObject = observed["dac"]
    meta, spec = dac.get("metadata") or {}, dac.get("spec") or {}
    status = dac.get("status") or {}
    profile = observed.get("profile")
    named = profile_name(dac)
    lines = [
        f"DedicatedAICluster {meta.get('name', '')}",
        f"Age:         {_age(meta.get('creationTimestamp'), now)}",
        f"Profile:     {named or '<none>'}" + (": not found" if named and profile is None else ""),
    ]
    try:
        units, unit = resolve(dac, profile)
    except DacProblem as problem:
        lines.append(f"Units:       {spec.get('count')} ({problem.message})")
    else:
        lines.append(
            f"Units:       {units} of {unit.pods} pod(s), {unit.gpus_per_pod} GPU(s) per pod: "
            f"{units * unit.pods * unit.gpus_per_pod} GPUs"
        )
    lines += [
        f"State:       {status.get('dacLifecycleState', '<none>')}",
        f"Detail:      {status.get('lifecycleDetail', '')}",
        f"GPUs:        {status.get('availableGpu', 0)} available, "
        f"{status.get('allocatedGpu', 0)} allocated",
        f"Nodes:       {', '.join(status.get('nodes') or []) or '<none>'}",
    ]
    lines += _conditions(status.get("conditions") or [], now)
    pods = [p for p in observed.get("pods") or [] if is_live(p)]
    placeholders = [p for p in pods if is_placeholder(p)]
    placed = [p for p in placeholders if is_placed(p)]
    lines.append(f"Placeholders: {len(placed)} placed, {len(placeholders) - len(placed)} pending")
    workloads = sorted(
        (p for p in pods if not is_placeholder(p)),
        key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"]),
    )
    lines.append("Workloads:" if workloads else "Workloads:   <none>")
    lines += [f"  {_workload(p)}" for p in workloads]
    lines += _events_section(observed.get("events") or [], now)
    lines += [f"Note: {note}" for note in observed.get("notes") or []]
    return "\n".join(lines) + "\n"


def _workload(pod: KubeObject) -> str:
    meta = pod["metadata"]
    service = (meta.get("labels") or {}).get(INFERENCESERVICE_LABEL)
    owners = meta.get("ownerReferences") or []
    if service:
        owner = f"InferenceService {service}"
    elif owners:
        owner = f"{owners[0].get('kind')} {owners[0].get('name')}"
    else:
        owner = "bare pod"
    node = (pod.get("spec") or {}).get("nodeName") or "Pending"
    return f"{meta.get('namespace')}/{meta['name']} ({owner}): {pod_gpus(pod)} GPU(s) on {node}"
