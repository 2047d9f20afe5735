"""What the model agents report about one model, read from their status ConfigMaps, and
the model status that follows (upstream ``pkg/controller/v1beta1/basemodel``).

Pure functions over plain objects, so the rules are tested without a cluster. The entry
format is the agent's (``ome.agent.status``); only ``status`` and our ``message`` are read
here: the agent back-fills the model's spec itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ome.serving.naming import STATUS_CONFIGMAP_NODE_LABEL

READY = "Ready"
FAILED = "Failed"
DELETED = "Deleted"
IN_TRANSIT = "In_Transit"

Obj = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class NodeReport:
    node: str
    status: str
    """Updating, Ready, Failed or Deleted; what an unreadable entry says is ''."""
    message: str = ""


def node_of(configmap: Obj) -> str:
    meta = configmap.get("metadata", {})
    return str((meta.get("labels") or {}).get(STATUS_CONFIGMAP_NODE_LABEL) or meta.get("name", ""))


def reports(key: str, configmaps: Iterable[Obj], live_nodes: Iterable[str]) -> list[NodeReport]:
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
    return NodeReport(
        node, str(entry.get("status", "")), message if isinstance(message, str) else ""
    )


def model_status(found: Iterable[NodeReport]) -> dict[str, Any]:
    """``state``: Ready where any node is ready, Failed where none is but some failed,
    In_Transit otherwise (upstream's rule); node lists sorted, omitted when empty."""
    ready = sorted(r.node for r in found if r.status == READY)
    failed = sorted(r.node for r in found if r.status == FAILED)
    state = READY if ready else FAILED if failed else IN_TRANSIT
    return {"state": state, "nodesReady": ready or None, "nodesFailed": failed or None}


def pending_cleanup(found: Iterable[NodeReport]) -> list[str]:
    """Nodes that have not yet removed a deleted model: any entry but ``Deleted``."""
    return sorted(r.node for r in found if r.status != DELETED)


def failure_summary(found: Iterable[NodeReport]) -> str:
    failed = [r for r in found if r.status == FAILED]
    return "; ".join(f"{r.node}: {r.message or 'failed'}" for r in failed)
