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
    INVALID_AUTOSCALER_CLASS = "InvalidAutoscalerClass"
    UNSUPPORTED_AUTOSCALER_CLASS = "UnsupportedAutoscalerClass"
    UNSUPPORTED_INGRESS = "UnsupportedIngress"
    INVALID_INGRESS_DOMAIN = "InvalidIngressDomain"
    INVALID_CONFIG = "InvalidConfig"
    OWNERSHIP_CONFLICT = "OwnershipConflict"


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
