"""``ome status dac NAME [--kubeconfig PATH]``: one DedicatedAICluster as the cluster holds
it: its profile and units, its state with the reason, the GPUs free and allocated, the
nodes holding it, its placeholders, the workloads using it and its recent Events. Exits 1
when the DAC does not exist or the cluster cannot be reached."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio.config import ConfigException

from ome.api.v1beta1 import DedicatedAICluster, DedicatedAIClusterProfile
from ome.cli.status import (
    EVENT,
    TIMEOUT,
    Unavailable,
    _age,
    _conditions,
    _events_section,
    _one_line,
)
from ome.client import GVK, ApiError, Client, NotFound, load_configuration
from ome.controllers.kinds import POD
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

Obj = dict[str, Any]
DAC = GVK("ome.io", "v1beta1", DedicatedAICluster.KIND)
PROFILE = GVK("ome.io", "v1beta1", DedicatedAIClusterProfile.KIND)


def register(kinds: Any) -> None:
    parser = kinds.add_parser(
        "dac",
        aliases=["dedicatedaicluster"],
        help="a DedicatedAICluster: units, state, GPUs, nodes, workloads, Events",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("kubernetes_asyncio.config.kube_config").setLevel(logging.ERROR)
    if args.kubeconfig and not Path(args.kubeconfig).is_file():
        print(f"error: {args.kubeconfig}: no such kubeconfig file", file=sys.stderr)
        return 1
    try:
        observed = asyncio.run(_observe_with_client(args.kubeconfig, args.name))
    except Unavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report(observed, datetime.now(UTC)), end="")
    return 0


async def _observe_with_client(kubeconfig: str | None, name: str) -> Obj:
    try:
        configuration = await load_configuration(kubeconfig)
    except (ConfigException, OSError) as err:
        raise Unavailable(f"no cluster to talk to: {_one_line(err)}") from err
    async with Client(configuration, timeout=TIMEOUT) as client:
        try:
            return await observe(client, name)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            why = _one_line(err) or type(err).__name__
            raise Unavailable(
                f"cannot reach the API server at {configuration.host}: {why}"
            ) from err
        except ApiError as err:
            raise Unavailable(
                f"the API server answered {err.status} {err.reason}: {err.message}"
            ) from err


async def observe(client: Client, name: str) -> Obj:
    """The DAC, its profile, its pods (placeholders and workloads) and its Events."""
    try:
        dacs = await client.resource(DAC)
    except NotFound as err:
        raise Unavailable(f"the cluster does not serve DedicatedAIClusters: {err.message}") from err
    try:
        dac: Obj = await dacs.get(name)
    except NotFound as err:
        raise Unavailable(f"DedicatedAICluster {name!r} not found") from err
    notes: list[str] = []
    profile: Obj | None = None
    wanted = profile_name(dac)
    if wanted:
        try:
            profile = await (await client.resource(PROFILE)).get(wanted)
        except NotFound:
            profile = None
        except ApiError as err:
            notes.append(f"profile not read ({err.reason})")
    pods: list[Obj] = []
    try:
        pods = await (await client.resource(POD)).list(
            None, label_selector=f"{DAC_LABEL}={label_value(name)}"
        )
    except ApiError as err:
        notes.append(f"pods not listed ({err.reason}): workloads unknown")
    events: list[Obj] = []
    try:
        events = await (await client.resource(EVENT)).list(
            None, field_selector=f"regarding.name={name},regarding.kind={DedicatedAICluster.KIND}"
        )
    except ApiError as err:
        notes.append(f"Events not listed ({err.reason})")
    return {"dac": dac, "profile": profile, "pods": pods, "events": events, "notes": notes}


def report(observed: Mapping[str, Any], now: datetime) -> str:
    """The text report on one DAC (pure: ``observed`` as :func:`observe` gives it)."""
    dac: Obj = observed["dac"]
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


def _workload(pod: Obj) -> str:
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
