"""BenchmarkJob: a genai-bench run against an InferenceService or any endpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ome.api import k8s
from ome.api.meta import AGE, PrinterColumn
from ome.api.types import ATOMIC, ATOMIC_MAP, SET, KubeModel, Time, list_map
from ome.api.v1beta1.common import OmeObject, StorageSpec


class InferenceServiceReference(KubeModel):
    name: str
    namespace: str


class Endpoint(KubeModel):
    """Any endpoint speaking one of the supported APIs."""

    api_format: Literal["openai", "oci-cohere", "cohere"] = Field(alias="apiFormat")
    model_name: str | None = Field(default=None, alias="modelName")
    url: Annotated[str, StringConstraints(pattern=r"^(http|https)://")]


class EndpointSpec(KubeModel):
    """What to benchmark: one of an InferenceService or an endpoint."""

    endpoint: Endpoint | None = None
    inference_service: InferenceServiceReference | None = Field(
        default=None, alias="inferenceService"
    )


class HuggingFaceSecretReference(KubeModel):
    name: str


class ServiceMetadata(KubeModel):
    """Facts about the benchmarked service, recorded with the results."""

    engine: Literal["vLLM", "SGLang", "TGI"]
    gpu_count: int = Field(alias="gpuCount")
    gpu_type: Literal["H100", "A100", "MI300", "A10"] = Field(alias="gpuType")
    version: str


class PodOverride(KubeModel):
    """Changes to the benchmark pod."""

    affinity: k8s.Affinity | None = None
    env: Annotated[list[k8s.EnvVar], list_map("name")] | None = None
    env_from: Annotated[list[k8s.EnvFromSource], ATOMIC] | None = Field(
        default=None, alias="envFrom"
    )
    image: str | None = None
    node_selector: Annotated[dict[str, str], ATOMIC_MAP] | None = Field(
        default=None, alias="nodeSelector"
    )
    resources: k8s.ResourceRequirements | None = None
    tolerations: Annotated[list[k8s.Toleration], ATOMIC] | None = None
    volume_mounts: Annotated[list[k8s.VolumeMount], list_map("name")] | None = Field(
        default=None, alias="volumeMounts"
    )
    volumes: Annotated[list[k8s.Volume], ATOMIC] | None = None


class BenchmarkJobSpec(KubeModel):
    additional_request_params: dict[str, str] | None = Field(
        default=None, alias="additionalRequestParams", description="e.g. temperature"
    )
    dataset: StorageSpec | None = None
    endpoint: EndpointSpec
    hugging_face_secret_reference: HuggingFaceSecretReference | None = Field(
        default=None, alias="huggingFaceSecretReference"
    )
    max_requests_per_iteration: int = Field(alias="maxRequestsPerIteration")
    max_time_per_iteration: int = Field(
        alias="maxTimePerIteration", description="Minutes per iteration."
    )
    num_concurrency: Annotated[list[int], SET] | None = Field(default=None, alias="numConcurrency")
    output_location: StorageSpec = Field(alias="outputLocation")
    pod_override: PodOverride | None = Field(default=None, alias="podOverride")
    result_folder_name: str | None = Field(default=None, alias="resultFolderName")
    service_metadata: ServiceMetadata | None = Field(default=None, alias="serviceMetadata")
    task: Literal["text-to-text", "image-to-text", "text-to-embeddings", "image-to-embeddings"]
    traffic_scenarios: Annotated[list[str], SET] | None = Field(
        default=None, alias="trafficScenarios", description='e.g. "D(100,100)"'
    )


class BenchmarkJobStatus(KubeModel):
    completion_time: Time | None = Field(default=None, alias="completionTime")
    details: str | None = None
    failure_message: str | None = Field(default=None, alias="failureMessage")
    last_reconcile_time: Time | None = Field(default=None, alias="lastReconcileTime")
    start_time: Time | None = Field(default=None, alias="startTime")
    state: Literal["Pending", "Running", "Completed", "Failed"]


class BenchmarkJob(OmeObject):
    """A benchmark of an inference endpoint."""

    KIND = "BenchmarkJob"
    PLURAL = "benchmarkjobs"
    SCOPE = "Namespaced"
    PRINTER_COLUMNS = (AGE, PrinterColumn("Status", "string", ".status.state"))

    spec: BenchmarkJobSpec
    status: BenchmarkJobStatus | None = None
