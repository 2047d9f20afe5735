"""``ome status model NAME [-n NAMESPACE]``: one BaseModel (or, when the namespace has
none of that name, the ClusterBaseModel) as the cluster holds it: its state, the download
under way, the metadata its spec carries, what each node's agent reports (status,
progress, message) and its recent Events. Exits 1 when the model does not exist or the
cluster cannot be reached."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ome.api.v1beta1 import BaseModel, ClusterBaseModel
from ome.cli.status import (
    Unavailable,
    _context_namespace,
    _events,
    _events_section,
    _table,
    kind_command,
    run_report,
)
from ome.client import GVK, Client, KubeObject, NotFound
from ome.controllers.basemodel.reports import NodeReport, download_progress, percent, reports
from ome.controllers.kinds import CONFIGMAP, NODE
from ome.serving.naming import STATUS_CONFIGMAP_LABEL, model_status_key

TIMEOUT = 10.0
KINDS = (BaseModel, ClusterBaseModel)


def register(kinds: Any) -> None:
    summary = "a BaseModel or ClusterBaseModel: state, download progress, metadata, nodes"
    parser = kind_command(kinds, "model", ["basemodel", "clusterbasemodel"], summary, __doc__)
    parser.add_argument(
        "-n",
        "--namespace",
        help="look for a BaseModel here first (default: the kubeconfig context's, else default)",
    )
    parser.add_argument(
        "--operator-namespace",
        default=os.environ.get("POD_NAMESPACE", "ome"),
        help="where the agents' node status ConfigMaps are (default $POD_NAMESPACE or ome)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    namespace = args.namespace or _context_namespace(args.kubeconfig, args.context)
    return run_report(
        args,
        lambda client: observe(client, namespace, args.name, args.operator_namespace),
        report,
    )


async def observe(client: Client, namespace: str, name: str, status_namespace: str) -> KubeObject:
    """The model, the node reports on it and its Events, as plain dicts."""
    model = await _find_model(client, namespace, name)
    meta = model["metadata"]
    configmaps = await (await client.resource(CONFIGMAP)).list(
        status_namespace, label_selector=f"{STATUS_CONFIGMAP_LABEL}=true"
    )
    nodes = await (await client.resource(NODE)).list()
    found = reports(
        model_status_key(name, meta.get("namespace")),
        configmaps,
        (node["metadata"]["name"] for node in nodes),
    )
    notes: list[str] = []
    events = await _events(client, meta.get("namespace") or "default", [name], notes)
    return {"model": model, "reports": found, "events": events, "notes": notes}


async def _find_model(client: Client, namespace: str, name: str) -> KubeObject:
    for kind in KINDS:
        try:
            models = await client.resource(GVK.parse(kind.API_VERSION, kind.KIND))
        except NotFound as err:
            raise Unavailable(f"the cluster does not serve {kind.PLURAL}: {err.message}") from err
        try:
            found: KubeObject = await models.get(name, namespace if kind is BaseModel else None)
            return found
        except NotFound:
            continue
    raise Unavailable(f"no BaseModel {name!r} in namespace {namespace!r} nor ClusterBaseModel")


# -- the report (pure) -------------------------------------------------------------------


def report(observed: Mapping[str, Any], now: datetime) -> str:
    """``observed``: ``model`` (a dict), ``reports`` (:class:`NodeReport`), ``events``,
    ``notes``."""
    model: KubeObject = observed["model"]
    found: list[NodeReport] = list(observed.get("reports") or [])
    meta, spec = model.get("metadata") or {}, model.get("spec") or {}
    status = model.get("status") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    lines = [f"{model.get('kind', 'Model')} {where}{meta.get('name', '')}"]
    lines.append(f"  State:     {status.get('state') or 'unknown (not reconciled yet)'}")
    progress = status.get("progress") or download_progress(found)
    if progress:
        lines.append(f"  Progress:  {describe_progress(progress)}")
    storage = spec.get("storage") or {}
    lines.append(f"  Storage:   {storage.get('storageUri') or '?'}")
    lines.append(f"  Metadata:  {describe_metadata(spec)}")
    lines += _nodes(found)
    lines += _events_section(observed.get("events") or [], now)
    lines += [f"Note: {note}" for note in observed.get("notes") or []]
    return "\n".join(lines) + "\n"


def describe_progress(progress: Mapping[str, Any]) -> str:
    nodes = int(progress.get("nodes") or 1)
    done, total = int(progress["completedBytes"]), int(progress["totalBytes"])
    return (
        f"{percent(done, total)}% ({human_bytes(done)} of {human_bytes(total)}, "
        f"{nodes} node{'s' if nodes != 1 else ''} downloading)"
    )


def describe_metadata(spec: Mapping[str, Any]) -> str:
    model_format = spec.get("modelFormat") or {}
    facts = [
        " ".join(str(p) for p in (model_format.get("name"), model_format.get("version")) if p),
        spec.get("modelArchitecture"),
        spec.get("modelParameterSize"),
        spec.get("quantization"),
    ]
    said = ", ".join(str(f) for f in facts if f)
    return said or "no metadata yet (the model's agents fill it from its config.json)"


def human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _nodes(found: Sequence[NodeReport]) -> list[str]:
    if not found:
        return ["Nodes:     <none has reported it>"]
    rows = []
    for r in found:
        progress = (
            f"{percent(r.completed_bytes, r.total_bytes)}% of {human_bytes(r.total_bytes)}"
            if r.total_bytes
            else "-"
        )
        rows.append([r.node, r.status or "?", progress, r.message or ""])
    return ["Nodes:", *_table(["NODE", "STATUS", "PROGRESS", "MESSAGE"], rows)]
