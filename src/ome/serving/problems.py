"""Why an InferenceService cannot be served: a stable CamelCase reason (for the Ready
condition and the Event) and a message for people.

Every function of ``ome.serving`` that can fail on bad input raises :class:`ServingError`;
nothing else escapes for input the API server would accept."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Reasons the controller reports as ``Ready=False``; the values never change."""

    PREDICTOR_UNSUPPORTED = "PredictorUnsupported"
    MODEL_REF_MISSING = "ModelRefMissing"
    BASE_MODEL_NOT_FOUND = "BaseModelNotFound"
    BASE_MODEL_DISABLED = "BaseModelDisabled"
    UNSUPPORTED_MODEL_KIND = "UnsupportedModelKind"
    MODEL_FORMAT_MISSING = "ModelFormatMissing"
    FINE_TUNED_WEIGHT_NOT_FOUND = "FineTunedWeightNotFound"
    FINE_TUNED_WEIGHT_DISABLED = "FineTunedWeightDisabled"
    FINE_TUNED_WEIGHT_MISMATCH = "FineTunedWeightBaseModelMismatch"
    FINE_TUNED_WEIGHT_PATH_MISSING = "FineTunedWeightPathMissing"
    INVALID_FINE_TUNED_WEIGHTS = "InvalidFineTunedWeights"
    LORA_UNSUPPORTED = "LoRAUnsupported"
    RUNTIME_NOT_FOUND = "RuntimeNotFound"
    RUNTIME_DISABLED = "RuntimeDisabled"
    RUNTIME_INCOMPATIBLE = "RuntimeIncompatible"
    NO_SUPPORTING_RUNTIME = "NoSupportingRuntime"
    ENGINE_MISSING = "EngineMissing"
    UNSUPPORTED_DEPLOYMENT_MODE = "UnsupportedDeploymentMode"
    NO_CONTAINERS = "NoContainers"
    ENGINE_CONFIG_MISSING = "EngineConfigMissing"
    DECODER_CONFIG_MISSING = "DecoderConfigMissing"
    ROUTER_CONFIG_MISSING = "RouterConfigMissing"
    UNKNOWN_RDMA_PROFILE = "UnknownRdmaProfile"
    INVALID_AUTOSCALER_CLASS = "InvalidAutoscalerClass"
    INVALID_INGRESS_GATEWAY = "InvalidIngressGateway"
    INVALID_INGRESS_DOMAIN = "InvalidIngressDomain"
    INVALID_CONFIG = "InvalidConfig"
    OWNERSHIP_CONFLICT = "OwnershipConflict"
    SERVICE_IP_RANGE_EXHAUSTED = "ServiceIPRangeExhausted"
    LEADERWORKERSET_UNAVAILABLE = "LeaderWorkerSetUnavailable"
    ACCELERATOR_CLASS_NOT_FOUND = "AcceleratorClassNotFound"
    NO_ACCELERATOR_CLASS_FITS = "NoAcceleratorClassFits"
    KEDA_UNAVAILABLE = "KedaUnavailable"
    GATEWAY_API_UNAVAILABLE = "GatewayAPIUnavailable"
    INVALID_ENDPOINT_PICKER = "InvalidEndpointPicker"
    INFERENCE_POOL_UNAVAILABLE = "InferencePoolUnavailable"
    KNATIVE_SERVING_UNAVAILABLE = "KnativeServingUnavailable"
    DEDICATED_AI_CLUSTER_NOT_FOUND = "DedicatedAIClusterNotFound"
    DEDICATED_AI_CLUSTER_FULL = "DedicatedAIClusterFull"
    CHILD_INVALID = "ChildInvalid"


CLUSTER_REASONS = frozenset(
    {
        Reason.SERVICE_IP_RANGE_EXHAUSTED,
        Reason.LEADERWORKERSET_UNAVAILABLE,
        Reason.KEDA_UNAVAILABLE,
        Reason.GATEWAY_API_UNAVAILABLE,
        Reason.INFERENCE_POOL_UNAVAILABLE,
        Reason.KNATIVE_SERVING_UNAVAILABLE,
    }
)
"""Reasons that blame the cluster, not the service's spec: the model is not marked as
blocked by an invalid spec, and the reconcile is retried with backoff."""


# The closest upstream FailureInfo reason (status.modelStatus.lastFailureInfo.reason),
# whose enum is part of the CRD.
_FAILURE_INFO = {
    Reason.MODEL_REF_MISSING: "BaseModelNotFound",
    Reason.BASE_MODEL_NOT_FOUND: "BaseModelNotFound",
    Reason.BASE_MODEL_DISABLED: "BaseModelNotReady",
    Reason.UNSUPPORTED_MODEL_KIND: "BaseModelNotFound",
    Reason.MODEL_FORMAT_MISSING: "BaseModelNotReady",
    Reason.RUNTIME_NOT_FOUND: "RuntimeNotRecognized",
    Reason.RUNTIME_DISABLED: "RuntimeDisabled",
    Reason.RUNTIME_INCOMPATIBLE: "NoSupportingRuntime",
    Reason.NO_SUPPORTING_RUNTIME: "NoSupportingRuntime",
    Reason.FINE_TUNED_WEIGHT_NOT_FOUND: "BaseModelNotFound",
    Reason.FINE_TUNED_WEIGHT_DISABLED: "BaseModelNotReady",
    Reason.FINE_TUNED_WEIGHT_MISMATCH: "BaseModelNotFound",
    Reason.FINE_TUNED_WEIGHT_PATH_MISSING: "BaseModelNotReady",
    Reason.LORA_UNSUPPORTED: "NoSupportingRuntime",
}


class ServingError(Exception):
    """The service cannot be served as written; retrying without a change will not help
    (a change to the service, its model, a runtime or the config may)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    @property
    def failure_info_reason(self) -> str:
        """The reason to record in ``modelStatus.lastFailureInfo``."""
        return _FAILURE_INFO.get(self.reason, "InvalidPredictorSpec")


# What kube-apiserver answers (500 InternalError) when no ClusterIP is left, in both of its
# allocators; the Status message wraps it as "Internal error occurred: failed to allocate a
# serviceIP for Service "NAME": range is full".
SERVICE_IP_RANGE_FULL = "range is full"
_SERVICE_IP_ALLOCATION = "failed to allocate a serviceIP"


def apply_refusal(kind: str, name: str, message: str) -> ServingError | None:
    """What the API server's refusal to create or update a child means for the service's
    owner, or None when it is not a refusal the owner can act on."""
    if kind == "Service" and _SERVICE_IP_ALLOCATION in message and SERVICE_IP_RANGE_FULL in message:
        return ServingError(
            Reason.SERVICE_IP_RANGE_EXHAUSTED,
            f"Service {name} gets no ClusterIP: the cluster's service IP range is full "
            f"(kube-apiserver --service-cluster-ip-range); delete unused Services or widen "
            f"the range. Retrying with backoff. The API server said: {message}",
        )
    return None


def invalid_child(message: str) -> ServingError:
    """The API server refuses as invalid (422) a child rendered from the service: a value
    of the spec it cannot take (annotations over 256 KiB, a bad label). Retrying the same
    spec cannot help; ``message`` is the API server's, naming the child and its fields."""
    return ServingError(
        Reason.CHILD_INVALID,
        f"the API server refuses what this service renders: {message}",
    )
