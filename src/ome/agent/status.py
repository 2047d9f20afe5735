"""What an agent publishes about its node's models, in upstream OME's format.

Two outputs per node, both read by the BaseModel controller and the InferenceService
scheduling rules (upstream ``pkg/modelagent``, ``pkg/constants``):

- a ConfigMap named after the node in the agent's namespace (``ome``), labelled
  ``models.ome/basemodel-status=true``, with one data key per model
  (``clusterbasemodel.{name}`` or ``{namespace}.basemodel.{name}``) whose value is a
  JSON :class:`ModelEntry`;
- a node label per model (``models.ome.io/clusterbasemodel.{name}`` or
  ``models.ome.io/{namespace}.basemodel.{name}``) valued ``Updating``, ``Ready`` or
  ``Failed``; serving pods select ``Ready`` nodes with it.

Names too long for a label or a data key are cut as upstream cuts them (an 8-hex sha256
prefix, '-', then the end of the name), so both sides compute the same keys. A key so cut
cannot be turned back into the full name: :func:`parse_configmap_key` then returns the
cut name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ome.agent.metadata import ModelMetadata
from ome.agent.progress import Phase, Progress
from ome.controllers.basemodel.reports import percent
from ome.serving.naming import (
    STATUS_CONFIGMAP_LABEL,
    STATUS_CONFIGMAP_NODE_LABEL,
    fine_tuned_ready_label,
    fine_tuned_status_key,
    model_ready_label,
    model_status_key,
)

DEFAULT_NAMESPACE = "ome"
NODE_NAME_ANNOTATION = "models.ome.io/node-name"
MANAGED_BY_ANNOTATION = "models.ome.io/managed-by"
MANAGED_BY = "model-agent"
RESERVE_MODEL_ARTIFACT_LABEL = "models.ome/reserve-model-artifact"
"""On a model: ``"true"`` keeps its files on the nodes when it is deleted."""

_CLUSTER = "clusterbasemodel"
_FINE_TUNED = "finetunedweight"
_NAMESPACED = "basemodel"


class ModelStatus(StrEnum):
    """A model's state on one node; node labels use all but ``Deleted``."""

    UPDATING = "Updating"
    READY = "Ready"
    FAILED = "Failed"
    DELETED = "Deleted"


@dataclass(frozen=True, order=True)
class ModelRef:
    """A BaseModel (``namespace`` set), a ClusterBaseModel (``namespace`` None) or a
    FineTunedWeight (``fine_tuned``, cluster-scoped)."""

    name: str
    namespace: str | None = None
    fine_tuned: bool = False

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def is_cluster_scoped(self) -> bool:
        return self.namespace is None

    @property
    def kind(self) -> str:
        if self.fine_tuned:
            return "FineTunedWeight"
        return "ClusterBaseModel" if self.namespace is None else "BaseModel"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    status: ModelStatus
    config: ModelMetadata | None = None
    progress: Progress | None = None
    """Set while downloading; upstream clears it once Ready or Failed."""
    message: str | None = None
    """Ours, ignored by upstream readers: why the model is Failed on this node."""


def configmap_key(ref: ModelRef) -> str:
    if ref.fine_tuned:
        return fine_tuned_status_key(ref.name)
    return model_status_key(ref.name, ref.namespace)


def node_label_key(ref: ModelRef) -> str:
    if ref.fine_tuned:
        return fine_tuned_ready_label(ref.name)
    return model_ready_label(ref.name, ref.namespace)


def parse_configmap_key(key: str) -> ModelRef | None:
    """The model a data key belongs to; None for a key that is no model's."""
    if key.startswith(f"{_FINE_TUNED}."):
        name = key.removeprefix(f"{_FINE_TUNED}.")
        return ModelRef(name, fine_tuned=True) if name else None
    if key.startswith(f"{_CLUSTER}."):
        name = key.removeprefix(f"{_CLUSTER}.")
        return ModelRef(name) if name else None
    namespace, sep, name = key.partition(f".{_NAMESPACED}.")
    return ModelRef(name, namespace) if sep and namespace and name else None


def status_configmap(node_name: str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
    """A node's status ConfigMap with no entries yet, as upstream's agent creates it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": node_name,
            "namespace": namespace,
            "labels": {STATUS_CONFIGMAP_LABEL: "true", STATUS_CONFIGMAP_NODE_LABEL: node_name},
            "annotations": {NODE_NAME_ANNOTATION: node_name, MANAGED_BY_ANNOTATION: MANAGED_BY},
        },
        "data": {},
    }


def entry_to_json(entry: ModelEntry) -> str:
    """Compact JSON in upstream's field order: name, status, config, progress."""
    data: dict[str, Any] = {"name": entry.name, "status": entry.status.value}
    if entry.config is not None:
        data["config"] = entry.config.to_config()
    if entry.progress is not None:
        data["progress"] = _progress_to_json(entry.progress)
    if entry.message:
        data["message"] = entry.message
    return json.dumps(data, separators=(",", ":"))


def parse_entry(text: str) -> ModelEntry:
    """Read an entry written by this agent or upstream's; ``ValueError`` if it is none."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("not an object with a name")
        status = ModelStatus(data["status"])
        config, progress = data.get("config"), data.get("progress")
        return ModelEntry(
            name=data["name"],
            status=status,
            config=ModelMetadata.from_config(config) if isinstance(config, Mapping) else None,
            progress=_progress_from_json(progress) if isinstance(progress, Mapping) else None,
            message=data["message"] if isinstance(data.get("message"), str) else None,
        )
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"not a model status entry ({err}): {text[:200]!r}") from None


def _progress_to_json(progress: Progress) -> dict[str, Any]:
    return {
        "phase": progress.phase.value,
        "totalBytes": progress.total_bytes,
        "completedBytes": progress.completed_bytes,
        "totalFiles": progress.total_files,
        "completedFiles": progress.completed_files,
        "speedBytesPerSec": progress.speed_bytes_per_sec,
        # Ours (upstream readers ignore it): what a person wants to read first.
        "percent": percent(progress.completed_bytes, progress.total_bytes),
        # Go's time.RFC3339, as upstream writes it.
        "lastUpdated": progress.last_updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _progress_from_json(data: Mapping[str, Any]) -> Progress:
    updated = data.get("lastUpdated")
    return Progress(
        phase=Phase(data["phase"]),
        total_bytes=int(data.get("totalBytes", 0)),
        completed_bytes=int(data.get("completedBytes", 0)),
        total_files=int(data.get("totalFiles", 0)),
        completed_files=int(data.get("completedFiles", 0)),
        speed_bytes_per_sec=float(data.get("speedBytesPerSec", 0.0)),
        last_updated=datetime.fromisoformat(updated)
        if isinstance(updated, str)
        else datetime.now(UTC),
    )
