"""What the model agents report about one model, read from their status ConfigMaps, and
the model status that follows (upstream ``pkg/controller/v1beta1/basemodel``).

Pure functions over plain objects, so the rules are tested without a cluster. The entry
format is the agent's (``ome.agent.status``); only ``status`` and our ``message`` are read
here, and the ``progress`` of a download under way: the agent back-fills the model's spec
itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ome.client import KubeObject
from ome.serving.naming import STATUS_CONFIGMAP_NODE_LABEL

READY = "Ready"
FAILED = "Failed"
DELETED = "Deleted"
IN_TRANSIT = "In_Transit"
UPDATING = "Updating"


@dataclass(frozen=True, order=True)
class NodeReport:
    node: str
    status: str
    """Updating, Ready, Failed or Deleted; what an unreadable entry says is ''."""
    message: str = ""
    completed_bytes: int = 0
    total_bytes: int = 0
    """Of a download under way (0: none, or its size is not known yet)."""


def node_of(configmap: KubeObject) -> str:
    meta = configmap.get("metadata", {})
    return str((meta.get("labels") or {}).get(STATUS_CONFIGMAP_NODE_LABEL) or meta.get("name", ""))


def reports(
    key: str, configmaps: Iterable[KubeObject], live_nodes: Iterable[str]
) -> list[NodeReport]:
    """The reports on ``key`` from the ConfigMaps of nodes that still exist: a deleted
    node's last word must not hold a model's deletion forever."""
    nodes = set(live_nodes)
    found = []
    for configmap in configmaps:
        node = node_of(configmap)
        text = (configmap.get("data") or {}).get(key)
        if node in nodes and text is not None:
            found.append(_parse(node, text))
    return sorted(found)


def _parse(node: str, text: str) -> NodeReport:
    try:
        entry = json.loads(text)
    except ValueError:
        return NodeReport(node, "", f"unreadable entry: {text[:80]!r}")
    if not isinstance(entry, dict):
        return NodeReport(node, "", f"unreadable entry: {text[:80]!r}")
    message = entry.get("message")
    status = str(entry.get("status", ""))
    progress = entry.get("progress")
    done, total = 0, 0
    if status == UPDATING and isinstance(progress, dict):
        done, total = _bytes(progress.get("completedBytes")), _bytes(progress.get("totalBytes"))
    return NodeReport(node, status, message if isinstance(message, str) else "", done, total)


def _bytes(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def model_status(found: Iterable[NodeReport]) -> dict[str, Any]:
    """``state``: Ready where any node is ready, Failed where none is but some failed,
    In_Transit otherwise (upstream's rule); node lists sorted, omitted when empty."""
    ready = sorted(r.node for r in found if r.status == READY)
    failed = sorted(r.node for r in found if r.status == FAILED)
    state = READY if ready else FAILED if failed else IN_TRANSIT
    return {
        "state": state,
        "nodesReady": ready or None,
        "nodesFailed": failed or None,
        "progress": download_progress(found),
    }


def download_progress(found: Iterable[NodeReport]) -> dict[str, int] | None:
    """The downloads under way whose size is known, summed; None when there are none."""
    downloading = [r for r in found if r.total_bytes > 0]
    if not downloading:
        return None
    done = sum(min(r.completed_bytes, r.total_bytes) for r in downloading)
    total = sum(r.total_bytes for r in downloading)
    return {
        "completedBytes": done,
        "totalBytes": total,
        "percent": percent(done, total),
        "nodes": len(downloading),
    }


def percent(done: int, total: int) -> int:
    """Rounded down, so 100 means complete."""
    return min(done * 100 // total, 100) if total > 0 else 0


def pending_cleanup(found: Iterable[NodeReport]) -> list[str]:
    """Nodes that have not yet removed a deleted model: any entry but ``Deleted``."""
    return sorted(r.node for r in found if r.status != DELETED)


def failure_summary(found: Iterable[NodeReport]) -> str:
    failed = [r for r in found if r.status == FAILED]
    return "; ".join(f"{r.node}: {r.message or 'failed'}" for r in failed)
