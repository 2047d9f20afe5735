"""The ome.io/v1beta1 API: one pydantic model per kind, the single source of truth for the
CRDs in manifests/crds (``ome manifests crds``) and for ``ome validate``."""

from ome.api.meta import ApiObject
from ome.api.v1beta1.acceleratorclass import AcceleratorClass, AcceleratorClassSpec
from ome.api.v1beta1.benchmarkjob import BenchmarkJob, BenchmarkJobSpec
from ome.api.v1beta1.common import GROUP, VERSION, ModelFormat, StorageSpec
from ome.api.v1beta1.component import (
    ComponentExtensionSpec,
    DecoderSpec,
    EngineSpec,
    PodSpec,
    RouterSpec,
    RunnerSpec,
)
from ome.api.v1beta1.dedicatedaicluster import DedicatedAICluster, DedicatedAIClusterProfile
from ome.api.v1beta1.inferenceservice import (
    InferenceService,
    InferenceServiceSpec,
    ModelRef,
    ServingRuntimeRef,
)
from ome.api.v1beta1.inferenceservice_status import InferenceServiceStatus
from ome.api.v1beta1.model import (
    BaseModel,
    BaseModelSpec,
    ClusterBaseModel,
    DownloadProgress,
    FineTunedWeight,
    FineTunedWeightStatus,
    ModelStatusSpec,
)
from ome.api.v1beta1.servingruntime import (
    ClusterServingRuntime,
    ServingRuntime,
    ServingRuntimeSpec,
    SupportedModelFormat,
)

KINDS: dict[str, type[ApiObject]] = {
    kind.KIND: kind
    for kind in (
        BaseModel,
        ClusterBaseModel,
        FineTunedWeight,
        ServingRuntime,
        ClusterServingRuntime,
        InferenceService,
        AcceleratorClass,
        BenchmarkJob,
        DedicatedAICluster,
        DedicatedAIClusterProfile,
    )
}
"""Every top-level kind of the version, by kind name."""

__all__ = [
    "GROUP",
    "KINDS",
    "VERSION",
    "AcceleratorClass",
    "AcceleratorClassSpec",
    "BaseModel",
    "BaseModelSpec",
    "BenchmarkJob",
    "BenchmarkJobSpec",
    "ClusterBaseModel",
    "ClusterServingRuntime",
    "ComponentExtensionSpec",
    "DecoderSpec",
    "DedicatedAICluster",
    "DedicatedAIClusterProfile",
    "DownloadProgress",
    "EngineSpec",
    "FineTunedWeight",
    "FineTunedWeightStatus",
    "InferenceService",
    "InferenceServiceSpec",
    "InferenceServiceStatus",
    "ModelFormat",
    "ModelRef",
    "ModelStatusSpec",
    "PodSpec",
    "RouterSpec",
    "RunnerSpec",
    "ServingRuntime",
    "ServingRuntimeRef",
    "ServingRuntimeSpec",
    "StorageSpec",
    "SupportedModelFormat",
]
