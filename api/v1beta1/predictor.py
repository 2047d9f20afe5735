"""The deprecated ``spec.predictor`` of an InferenceService, accepted for manifests written
before engine, decoder and router; the controller migrates it to ``spec.engine``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ome.api import k8s
from ome.api.types import ATOMIC
from ome.api.v1beta1.component import ComponentExtensionSpec, PodSpec, WorkerSpec


class PredictorModelSpec(k8s.Container):
    """The model to serve and, inline, the container that serves it (name optional)."""

    name: str | None = None  # type: ignore[assignment]  # optional here, unlike a container
    base_model: str | None = Field(default=None, alias="baseModel")
    fine_tuned_weights: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="fineTunedWeights"
    )
    protocol_version: str | None = Field(default=None, alias="protocolVersion")
    runtime: str | None = None
    runtime_version: str | None = Field(default=None, alias="runtimeVersion")
    storage_uri: str | None = Field(default=None, alias="storageUri")


class PredictorSpec(PodSpec, ComponentExtensionSpec):
    """Deprecated: use engine, model and runtime."""

    model: PredictorModelSpec | None = None
    worker_spec: WorkerSpec | None = Field(default=None, alias="workerSpec")
