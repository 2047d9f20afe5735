"""The reconcile of one FineTunedWeight: a model's reconcile (finalizer, node reports,
deletion waiting for the agents) with a status that also says why a weight is not ready:
its base model does not exist, no node holding it has the weight yet, or the downloads
failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ome.client import KubeObject
from ome.controllers.basemodel.reconciler import ModelReconciler
from ome.controllers.basemodel.reports import (
    FAILED,
    READY,
    NodeReport,
    failure_summary,
    model_status,
)
from ome.informers import SharedInformer
from ome.runtime import WARNING

READY_CONDITION = "Ready"
BASE_MODEL_NOT_FOUND = "BaseModelNotFound"
DOWNLOAD_FAILED = "DownloadFailed"
DOWNLOADING = "Downloading"
WAITING_FOR_NODES = "WaitingForNodes"


def base_model_of(weight: KubeObject) -> tuple[str, str, str | None]:
    """(kind, name, namespace) of ``spec.baseModelRef``: a BaseModel when it names a
    namespace, else a ClusterBaseModel."""
    ref = (weight.get("spec") or {}).get("baseModelRef") or {}
    name, namespace = str(ref.get("name", "")), ref.get("namespace") or None
    return ("BaseModel" if namespace else "ClusterBaseModel"), name, namespace


def describe(kind: str, name: str, namespace: str | None) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def weight_status(
    weight: KubeObject, found: list[NodeReport], *, base_model_exists: bool, now: str
) -> dict[str, Any]:
    """The whole status: upstream's fields, the Ready condition and observedGeneration.
    The condition keeps its lastTransitionTime while its status stays the same."""
    status = model_status(found)
    base = describe(*base_model_of(weight))
    if not base_model_exists:
        status["state"] = FAILED
        condition = ("False", BASE_MODEL_NOT_FOUND, f"no {base}: the weight waits for it")
    elif status["state"] == READY:
        condition = ("True", READY, f"ready on node(s) {', '.join(status['nodesReady'])}")
    elif status["state"] == FAILED:
        condition = ("False", DOWNLOAD_FAILED, failure_summary(found))
    elif found:
        condition = ("False", DOWNLOADING, "being downloaded on node(s) " + _nodes(found))
    else:
        condition = ("False", WAITING_FOR_NODES, f"no node holding {base} has the weight yet")
    state, reason, message = condition
    generation = (weight.get("metadata") or {}).get("generation")
    previous = _ready_condition(weight)
    since = previous["lastTransitionTime"] if previous.get("status") == state else now
    status["conditions"] = [
        {
            "type": READY_CONDITION,
            "status": state,
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
            "observedGeneration": generation,
        }
    ]
    status["observedGeneration"] = generation
    return status


def _nodes(found: list[NodeReport]) -> str:
    return ", ".join(r.node for r in found)


def _ready_condition(weight: KubeObject) -> dict[str, Any]:
    for condition in (weight.get("status") or {}).get("conditions") or []:
        if condition.get("type") == READY_CONDITION:
            return dict(condition)
    return {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(kw_only=True)
class FineTunedWeightReconciler(ModelReconciler):
    base_models: SharedInformer
    """Informers of BaseModels and ClusterBaseModels: whether a weight's base exists."""
    cluster_base_models: SharedInformer

    def status(self, model: KubeObject, found: list[NodeReport]) -> dict[str, Any]:
        return weight_status(model, found, base_model_exists=self._base_exists(model), now=_now())

    def _base_exists(self, weight: KubeObject) -> bool:
        _, name, namespace = base_model_of(weight)
        if namespace is not None:
            return self.base_models.store.get(f"{namespace}/{name}") is not None
        return self.cluster_base_models.store.get(name) is not None

    def announce(
        self, model: KubeObject, current: KubeObject, status: KubeObject, failures: str
    ) -> None:
        (condition,) = status["conditions"]
        if condition["reason"] == BASE_MODEL_NOT_FOUND:
            if _ready_condition(model).get("reason") != BASE_MODEL_NOT_FOUND:
                self.recorder.event(model, WARNING, BASE_MODEL_NOT_FOUND, condition["message"])
            return
        super().announce(model, current, status, failures)
