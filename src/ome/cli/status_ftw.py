"""``ome status ftw NAME [--kubeconfig PATH]``: one FineTunedWeight as the cluster holds
it: its base model (and whether it exists), its storage, what the agents learned (rank,
node path), its state on the nodes with the Ready condition's reason, the
InferenceServices that serve it, and its recent Events. Exits 1 when the weight does not
exist or the cluster cannot be reached."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ome.api.v1beta1 import BaseModel, ClusterBaseModel, FineTunedWeight
from ome.cli.status import (
    EVENT,
    _age,
    _conditions,
    _events_section,
    get_named,
    kind_command,
    run_report,
)
from ome.client import GVK, ApiError, Client, KubeObject, NotFound
from ome.controllers.kinds import INFERENCESERVICE
from ome.serving.adapters import LORA_RANK_KEY, MERGED_WEIGHTS_KEY

WEIGHT = GVK("ome.io", "v1beta1", FineTunedWeight.KIND)
BASE_MODEL = GVK("ome.io", "v1beta1", BaseModel.KIND)
CLUSTER_BASE_MODEL = GVK("ome.io", "v1beta1", ClusterBaseModel.KIND)


def register(kinds: Any) -> None:
    summary = "a FineTunedWeight: base model, storage, state on the nodes, services, Events"
    kind_command(kinds, "ftw", ["finetunedweight"], summary, __doc__).set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return run_report(args, lambda client: observe(client, args.name), report)


async def observe(client: Client, name: str) -> KubeObject:
    """The weight, whether its base model exists, the services naming it and its Events."""
    weight = await get_named(client, WEIGHT, name)
    notes: list[str] = []
    ref = (weight.get("spec") or {}).get("baseModelRef") or {}
    base_exists: bool | None = None
    try:
        kind = BASE_MODEL if ref.get("namespace") else CLUSTER_BASE_MODEL
        await (await client.resource(kind)).get(ref.get("name", ""), ref.get("namespace"))
        base_exists = True
    except NotFound:
        base_exists = False
    except ApiError as err:
        notes.append(f"base model not read ({err.reason})")
    services: list[KubeObject] = []
    try:
        services = await (await client.resource(INFERENCESERVICE)).list(None)
    except ApiError as err:
        notes.append(f"InferenceServices not listed ({err.reason}): users unknown")
    events: list[KubeObject] = []
    try:
        events = await (await client.resource(EVENT)).list(
            None, field_selector=f"regarding.name={name},regarding.kind={FineTunedWeight.KIND}"
        )
    except ApiError as err:
        notes.append(f"Events not listed ({err.reason})")
    users = [
        f"{s['metadata'].get('namespace')}/{s['metadata']['name']}"
        for s in services
        if name in (((s.get("spec") or {}).get("model") or {}).get("fineTunedWeights") or [])
    ]
    return {
        "weight": weight,
        "base_exists": base_exists,
        "users": sorted(users),
        "events": events,
        "notes": notes,
    }


def report(observed: Mapping[str, Any], now: datetime) -> str:
    """The text report on one weight (pure: ``observed`` as :func:`observe` gives it)."""
    weight: KubeObject = observed["weight"]
    meta, spec = weight.get("metadata") or {}, weight.get("spec") or {}
    status = weight.get("status") or {}
    ref = spec.get("baseModelRef") or {}
    kind = "BaseModel" if ref.get("namespace") else "ClusterBaseModel"
    where = f"{ref.get('namespace')}/" if ref.get("namespace") else ""
    base = f"Base model:  {kind} {where}{ref.get('name', '')}"
    if observed.get("base_exists") is False:
        base += ": not found"
    storage = spec.get("storage") or {}
    configuration = spec.get("configuration") or {}
    if configuration.get(MERGED_WEIGHTS_KEY) is True:
        what = "merged weights (served instead of the base model)"
    else:
        rank = configuration.get(LORA_RANK_KEY)
        what = f"{spec.get('modelType', 'adapter')} adapter" + (f", rank {rank}" if rank else "")
    lines = [
        f"FineTunedWeight {meta.get('name', '')}",
        f"Age:         {_age(meta.get('creationTimestamp'), now)}",
        base,
        f"Weights:     {what}",
        f"Storage:     {storage.get('storageUri', '')}"
        + (f" (on the nodes at {storage['path']})" if storage.get("path") else ""),
        f"State:       {status.get('state', '<none>')}" + _nodes(status),
    ]
    lines += _conditions(status.get("conditions") or [], now)
    users: Sequence[str] = observed.get("users") or []
    lines.append(f"Served by:   {', '.join(users) if users else '<none>'}")
    lines += _events_section(observed.get("events") or [], now)
    lines += [f"Note: {note}" for note in observed.get("notes") or []]
    return "\n".join(lines) + "\n"


def _nodes(status: Mapping[str, Any]) -> str:
    ready, failed = status.get("nodesReady") or [], status.get("nodesFailed") or []
    text = f"; ready on {', '.join(ready)}" if ready else ""
    return text + (f"; failed on {', '.join(failed)}" if failed else "")
