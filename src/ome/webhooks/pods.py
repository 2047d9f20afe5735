"""The pod webhook (``/mutate-pods``): what upstream's pod mutator
(``pkg/webhook/admission/pod/mutator.go``) adds to the pods of an InferenceService (those
labelled ``ome.io/inferenceservice``), in its order: the metrics annotations
(:mod:`ome.serving.metrics_aggregation`), then RDMA (:mod:`ome.serving.rdma`).

Upstream's other injectors are not run: the model and its fine-tuned weights reach the
pods through the model agent, not through init containers (docs/serving.md), and the
serving sidecar is OCI's Object Storage agent. The pod templates already carry the RDMA
profile, so the webhook completes pods made from other templates (a LeaderWorkerSet
written by hand, say). Every step keeps what the pod already has, so a reinvoked webhook
adds nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ome.serving.metadata import INFERENCESERVICE_LABEL
from ome.serving.metrics_aggregation import MetricsAggregation, with_metrics_aggregation
from ome.serving.rdma import with_rdma


def mutate_pod(pod: Mapping[str, Any], metrics: MetricsAggregation) -> dict[str, Any]:
    """``pod`` as the webhook leaves it; a pod without the label unchanged.
    :class:`~ome.serving.ServingError` for an unknown RDMA profile."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if INFERENCESERVICE_LABEL not in labels:
        return dict(pod)
    mutated = with_metrics_aggregation(dict(pod), metrics)
    annotations = mutated["metadata"]["annotations"]
    return {**mutated, "spec": with_rdma(dict(mutated.get("spec") or {}), annotations)}
