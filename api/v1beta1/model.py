"""Models: BaseModel (namespaced), ClusterBaseModel and FineTunedWeight (cluster-scoped)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ome.api.meta import AGE, Condition, PrinterColumn
from ome.api.types import ATOMIC, Int32, Int64, KubeModel
from ome.api.v1beta1.common import (
    DiffusionPipelineSpec,
    FreeForm,
    ModelFormat,
    ModelFrameworkSpec,
    ObjectReference,
    OmeObject,
    StorageSpec,
)


class ModelExtensionSpec(KubeModel):
    """Catalogue facts every model kind carries."""

    compartment_id: str | None = Field(default=None, alias="compartmentID")
    disabled: bool | None = Field(default=None, description="A disabled model is not served.")
    display_name: str | None = Field(default=None, alias="displayName")
    vendor: str | None = None
    version: str | None = None


class BaseModelSpec(ModelExtensionSpec):
    """A base model: its metadata (filled from config.json when left out) and storage."""

    additional_metadata: dict[str, str] | None = Field(default=None, alias="additionalMetadata")
    api_capabilities: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="apiCapabilities", description="e.g. OPENAI_V1_CHAT_COMPLETIONS"
    )
    diffusion_pipeline: DiffusionPipelineSpec | None = Field(
        default=None, alias="diffusionPipeline"
    )
    max_tokens: Int32 | None = Field(default=None, alias="maxTokens")
    model_architecture: str | None = Field(
        default=None, alias="modelArchitecture", description="e.g. LlamaForCausalLM"
    )
    model_capabilities: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="modelCapabilities", description="e.g. TEXT_GENERATION, CHAT"
    )
    model_configuration: FreeForm | None = Field(
        default=None, alias="modelConfiguration", description="The model's config.json."
    )
    model_format: ModelFormat | None = Field(default=None, alias="modelFormat")
    model_framework: ModelFrameworkSpec | None = Field(default=None, alias="modelFramework")
    model_parameter_size: str | None = Field(
        default=None, alias="modelParameterSize", description='e.g. "7B", "175B"'
    )
    model_type: str | None = Field(default=None, alias="modelType", description="e.g. llama")
    quantization: str | None = Field(default=None, description="e.g. fp8, int4")
    serving_mode: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="servingMode", description="On-demand, Dedicated"
    )
    storage: StorageSpec


class DownloadProgress(KubeModel):
    """Ours (upstream has no such field): the downloads under way, summed over the nodes."""

    completed_bytes: int = Field(alias="completedBytes")
    total_bytes: int = Field(alias="totalBytes")
    percent: Int32 = Field(description="completedBytes / totalBytes, 0-100, rounded down")
    nodes: Int32 = Field(description="Nodes downloading the model now.")


class ModelStatusSpec(KubeModel):
    """Where the model is ready: aggregated from the model agents on the nodes."""

    lifecycle: str | None = None
    nodes_failed: Annotated[list[str], ATOMIC] | None = Field(default=None, alias="nodesFailed")
    nodes_ready: Annotated[list[str], ATOMIC] | None = Field(default=None, alias="nodesReady")
    progress: DownloadProgress | None = Field(
        default=None, description="Set while a node downloads the model; ours, not upstream's."
    )
    state: Literal["Creating", "Importing", "In_Transit", "In_Training", "Ready", "Failed"]


# catalogue facts first, the observed state last: the same for every model kind
DISABLED = PrinterColumn("Disabled", "boolean", ".spec.disabled")
VERSION = PrinterColumn("Version", "string", ".spec.version")
VENDOR = PrinterColumn("Vendor", "string", ".spec.vendor")
COMPARTMENT = PrinterColumn("CompartmentID", "string", ".spec.compartmentID")
READY = PrinterColumn("Ready", "string", ".status.state")
PROGRESS = PrinterColumn("Progress", "integer", ".status.progress.percent")
"""Ours: the percentage downloaded while a node downloads the model."""
MODEL_COLUMNS = (
    DISABLED,
    VERSION,
    VENDOR,
    PrinterColumn("Framework", "string", ".spec.modelFramework.name"),
    PrinterColumn("FrameworkVersion", "string", ".spec.modelFramework.version"),
    PrinterColumn("ModelFormat", "string", ".spec.modelFormat.name"),
    PrinterColumn("Architecture", "string", ".spec.modelArchitecture"),
    PrinterColumn("Capabilities", "string", ".spec.modelCapabilities[*]"),
    PrinterColumn("Size", "string", ".spec.modelParameterSize"),
    COMPARTMENT,
    READY,
    PROGRESS,
    AGE,
)


class _Model(OmeObject):
    PRINTER_COLUMNS = MODEL_COLUMNS

    spec: BaseModelSpec
    status: ModelStatusSpec | None = None


class BaseModel(_Model):
    """A model available to InferenceServices in its namespace."""

    KIND = "BaseModel"
    PLURAL = "basemodels"
    SCOPE = "Namespaced"


class ClusterBaseModel(_Model):
    """A model available to InferenceServices in every namespace."""

    KIND = "ClusterBaseModel"
    PLURAL = "clusterbasemodels"
    SCOPE = "Cluster"


class FineTunedWeightSpec(ModelExtensionSpec):
    """Weights fine-tuned from a base model (LoRA, adapter, distillation, T-Few)."""

    base_model_ref: ObjectReference = Field(alias="baseModelRef")
    configuration: FreeForm | None = Field(
        default=None, description="merged_weights: true serves merged weights."
    )
    hyper_parameters: FreeForm = Field(
        alias="hyperParameters", description="Training hyper-parameters (strategy: lora|tfew)."
    )
    model_type: str = Field(alias="modelType", description="LoRA, Adapter, Distillation, Tfew")
    storage: StorageSpec
    training_job_ref: ObjectReference | None = Field(default=None, alias="trainingJobRef")


class FineTunedWeightStatus(ModelStatusSpec):
    """Upstream's model status, plus what the FineTunedWeight controller observed."""

    conditions: Annotated[list[Condition], ATOMIC] | None = Field(
        default=None, description="Ready: downloaded on a node holding the base model."
    )
    observed_generation: Int64 | None = Field(default=None, alias="observedGeneration")


class FineTunedWeight(OmeObject):
    """Fine-tuned weights served on top of their base model."""

    KIND = "FineTunedWeight"
    PLURAL = "finetunedweights"
    SCOPE = "Cluster"
    PRINTER_COLUMNS = (
        DISABLED,
        VERSION,
        VENDOR,
        COMPARTMENT,
        PrinterColumn("ModelType", "string", ".spec.modelType"),
        READY,
        AGE,
    )

    spec: FineTunedWeightSpec
    status: FineTunedWeightStatus | None = None
