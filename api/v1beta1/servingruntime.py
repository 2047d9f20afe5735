"""ServingRuntime (namespaced) and ClusterServingRuntime: how to serve the models a runtime
supports — which formats, sizes and accelerators, and the component templates."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge
from pydantic import Field

from ome.api import k8s
from ome.api.meta import AGE, PrinterColumn
from ome.api.types import ATOMIC, Int32, Int64, KubeModel, list_map
from ome.api.v1beta1.common import (
    DiffusionPipelineSpec,
    ModelFormat,
    ModelFrameworkSpec,
    OmeObject,
)
from ome.api.v1beta1.component import DecoderSpec, EngineSpec, RouterSpec

NonNegative = Annotated[Int64, Ge(0)]


class TensorParallelismConfig(KubeModel):
    data_parallel_size: NonNegative | None = Field(default=None, alias="dataParallelSize")
    pipeline_parallel_size: NonNegative | None = Field(default=None, alias="pipelineParallelSize")
    tensor_parallel_size: NonNegative | None = Field(default=None, alias="tensorParallelSize")


class AcceleratorModelConfig(KubeModel):
    """Settings of a model format on one accelerator class."""

    environment_override: dict[str, str] | None = Field(default=None, alias="environmentOverride")
    min_memory_per_billion_params: NonNegative | None = Field(
        default=None, alias="minMemoryPerBillionParams"
    )
    runtime_args_override: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="runtimeArgsOverride", description="Replace arguments by --flag."
    )
    tensor_parallelism_override: TensorParallelismConfig | None = Field(
        default=None, alias="tensorParallelismOverride"
    )


class SupportedModelFormat(KubeModel):
    """A kind of model the runtime serves, and how it ranks among runtimes for it."""

    accelerator_config: dict[str, AcceleratorModelConfig] | None = Field(
        default=None, alias="acceleratorConfig", description="By accelerator class name."
    )
    auto_select: bool | None = Field(
        default=None, alias="autoSelect", description="Eligible for automatic selection."
    )
    diffusion_pipeline: DiffusionPipelineSpec | None = Field(
        default=None, alias="diffusionPipeline"
    )
    model_architecture: str | None = Field(default=None, alias="modelArchitecture")
    model_format: ModelFormat = Field(alias="modelFormat")
    model_framework: ModelFrameworkSpec = Field(alias="modelFramework")
    model_type: str | None = Field(default=None, alias="modelType", description="Deprecated.")
    name: str | None = None
    priority: Annotated[Int32, Ge(1)] | None = None
    quantization: str | None = None
    version: str | None = Field(default=None, description="Deprecated.")


class ModelSizeRange(KubeModel):
    """Parameter sizes served, e.g. 7B to 9B."""

    max: str | None = None
    min: str | None = None


class AcceleratorRequirements(KubeModel):
    """The accelerators the runtime can run on."""

    accelerator_classes: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="acceleratorClasses"
    )
    min_architecture_version: str | None = Field(default=None, alias="minArchitectureVersion")
    min_compute_performance_tflops: NonNegative | None = Field(
        default=None, alias="minComputePerformanceTFLOPS"
    )
    min_memory: NonNegative | None = Field(default=None, alias="minMemory")
    preferred_precisions: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="preferredPrecisions"
    )
    required_features: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="requiredFeatures"
    )


class ServingRuntimePodSpec(KubeModel):
    """Legacy pod settings of a runtime; its node selector and container resources are
    still used as defaults for the engine and decoder."""

    affinity: k8s.Affinity | None = None
    annotations: dict[str, str] | None = None
    containers: Annotated[list[k8s.Container], list_map("name")] | None = None
    dns_policy: str | None = Field(default=None, alias="dnsPolicy")
    host_ipc: bool | None = Field(default=None, alias="hostIPC")
    host_network: bool | None = Field(default=None, alias="hostNetwork")
    image_pull_secrets: Annotated[list[k8s.LocalObjectReference], list_map("name")] | None = Field(
        default=None, alias="imagePullSecrets"
    )
    labels: dict[str, str] | None = None
    node_selector: dict[str, str] | None = Field(default=None, alias="nodeSelector")
    scheduler_name: str | None = Field(default=None, alias="schedulerName")
    tolerations: Annotated[list[k8s.Toleration], ATOMIC] | None = None
    volumes: Annotated[list[k8s.Volume], list_map("name")] | None = None


class WorkerPodSpec(ServingRuntimePodSpec):
    """Legacy multi-node workers."""

    size: int | None = None


class ServingRuntimeSpec(ServingRuntimePodSpec):
    accelerator_requirements: AcceleratorRequirements | None = Field(
        default=None, alias="acceleratorRequirements"
    )
    decoder_config: DecoderSpec | None = Field(default=None, alias="decoderConfig")
    disabled: bool | None = None
    engine_config: EngineSpec | None = Field(default=None, alias="engineConfig")
    model_size_range: ModelSizeRange | None = Field(default=None, alias="modelSizeRange")
    protocol_versions: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="protocolVersions", description="openAI, openInference-v1, -v2"
    )
    router_config: RouterSpec | None = Field(default=None, alias="routerConfig")
    supported_model_formats: Annotated[list[SupportedModelFormat], ATOMIC] | None = Field(
        default=None, alias="supportedModelFormats"
    )
    workers: WorkerPodSpec | None = None


class ServingRuntimeStatus(KubeModel):
    """Empty: runtimes report no status."""


RUNTIME_COLUMNS = (
    PrinterColumn("Disabled", "boolean", ".spec.disabled"),
    PrinterColumn("ModelFormat", "string", ".spec.supportedModelFormats[*].modelFormat.name"),
    PrinterColumn("ModelFramework", "string", ".spec.supportedModelFormats[*].modelFramework.name"),
    PrinterColumn(
        "ModelFrameworkVersion",
        "string",
        ".spec.supportedModelFormats[*].modelFramework.version",
    ),
    PrinterColumn(
        "ModelArchitecture", "string", ".spec.supportedModelFormats[*].modelArchitecture"
    ),
    PrinterColumn("ModelSizeMin", "string", ".spec.modelSizeRange.min"),
    PrinterColumn("ModelSizeMax", "string", ".spec.modelSizeRange.max"),
    PrinterColumn("Images", "string", ".spec.containers[*].image"),
    AGE,
)


class _Runtime(OmeObject):
    PRINTER_COLUMNS = RUNTIME_COLUMNS
    STATUS_SUBRESOURCE = False

    spec: ServingRuntimeSpec = Field(default_factory=ServingRuntimeSpec)
    status: ServingRuntimeStatus | None = None


class ServingRuntime(_Runtime):
    """A runtime for InferenceServices in its namespace."""

    KIND = "ServingRuntime"
    PLURAL = "servingruntimes"
    SCOPE = "Namespaced"


class ClusterServingRuntime(_Runtime):
    """A runtime for InferenceServices in every namespace."""

    KIND = "ClusterServingRuntime"
    PLURAL = "clusterservingruntimes"
    SCOPE = "Cluster"
