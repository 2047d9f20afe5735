"""InferenceService: a model served by a runtime, as engine, decoder and router components."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ome.api.meta import AGE, PrinterColumn
from ome.api.types import ATOMIC, KubeModel
from ome.api.v1beta1.common import OmeObject
from ome.api.v1beta1.component import (
    AcceleratorSelector,
    DecoderSpec,
    EngineSpec,
    KedaConfig,
    RouterSpec,
)
from ome.api.v1beta1.inferenceservice_status import InferenceServiceStatus
from ome.api.v1beta1.predictor import PredictorSpec


class ModelRef(KubeModel):
    """The base model to serve (a BaseModel in the namespace, else a ClusterBaseModel)."""

    api_group: str | None = Field(default="ome.io", alias="apiGroup")
    fine_tuned_weights: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="fineTunedWeights"
    )
    kind: str | None = "ClusterBaseModel"
    name: str


class ServingRuntimeRef(KubeModel):
    """The runtime to serve with; without it a runtime is selected automatically."""

    api_group: str | None = Field(default="ome.io", alias="apiGroup")
    kind: str | None = "ClusterServingRuntime"
    name: str


class InferenceServiceSpec(KubeModel):
    accelerator_selector: AcceleratorSelector | None = Field(
        default=None, alias="acceleratorSelector"
    )
    decoder: DecoderSpec | None = None
    engine: EngineSpec | None = None
    keda_config: KedaConfig | None = Field(default=None, alias="kedaConfig")
    model: ModelRef | None = None
    predictor: PredictorSpec | None = None
    router: RouterSpec | None = None
    runtime: ServingRuntimeRef | None = None


class InferenceService(OmeObject):
    """A model served by a runtime."""

    KIND = "InferenceService"
    PLURAL = "inferenceservices"
    SCOPE = "Namespaced"
    SHORT_NAMES = ("isvc",)
    PRINTER_COLUMNS = (
        PrinterColumn("URL", "string", ".status.url"),
        PrinterColumn("Ready", "string", ".status.conditions[?(@.type=='Ready')].status"),
        PrinterColumn("BaseModel", "string", ".spec.model.name"),
        PrinterColumn("Runtime", "string", ".spec.runtime.name"),
        PrinterColumn(
            "Prev", "integer", ".status.components.engine.traffic[?(@.tag=='prev')].percent"
        ),
        PrinterColumn(
            "Latest",
            "integer",
            ".status.components.engine.traffic[?(@.latestRevision==true)].percent",
        ),
        PrinterColumn(
            "PrevRolledoutRevision",
            "string",
            ".status.components.engine.traffic[?(@.tag=='prev')].revisionName",
        ),
        PrinterColumn(
            "LatestReadyRevision",
            "string",
            ".status.components.engine.traffic[?(@.latestRevision==true)].revisionName",
        ),
        AGE,
    )

    spec: InferenceServiceSpec = Field(default_factory=InferenceServiceSpec)
    status: InferenceServiceStatus | None = None
