"""The observed state of an InferenceService (Knative-style conditions and addresses)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from ome.api.types import ATOMIC, Int32, Int64, KubeModel, Time


class Addressable(KubeModel):
    """Where a component or the service is reached."""

    ca_certs: str | None = Field(default=None, alias="CACerts")
    audience: str | None = None
    name: str | None = None
    url: str | None = None


class KnativeCondition(KubeModel):
    """A condition in the Knative style (with a severity)."""

    last_transition_time: str | None = Field(default=None, alias="lastTransitionTime")
    message: str | None = None
    reason: str | None = None
    severity: str | None = None
    status: str
    type: str


class TrafficTarget(KubeModel):
    """A share of traffic to a revision (serverless mode)."""

    configuration_name: str | None = Field(default=None, alias="configurationName")
    latest_revision: bool | None = Field(default=None, alias="latestRevision")
    percent: Int64 | None = None
    revision_name: str | None = Field(default=None, alias="revisionName")
    tag: str | None = None
    url: str | None = None


class SelectedAccelerator(KubeModel):
    """The accelerator class chosen for a component, and why."""

    accelerator_class: str = Field(alias="acceleratorClass")
    node_selector: dict[str, str] | None = Field(default=None, alias="nodeSelector")
    reason: str | None = None
    resource_requests: dict[str, str] | None = Field(default=None, alias="resourceRequests")


class ComponentStatusSpec(KubeModel):
    """The observed state of one component."""

    address: Addressable | None = None
    latest_created_revision: str | None = Field(default=None, alias="latestCreatedRevision")
    latest_ready_revision: str | None = Field(default=None, alias="latestReadyRevision")
    latest_rolledout_revision: str | None = Field(default=None, alias="latestRolledoutRevision")
    previous_rolledout_revision: str | None = Field(default=None, alias="previousRolledoutRevision")
    rest_url: str | None = Field(default=None, alias="restURL")
    selected_accelerator: SelectedAccelerator | None = Field(
        default=None, alias="selectedAccelerator"
    )
    traffic: Annotated[list[TrafficTarget], ATOMIC] | None = None
    url: str | None = None


ModelState = Literal["", "Pending", "Standby", "Loading", "Loaded", "FailedToLoad"]


class ModelRevisionStates(KubeModel):
    active_model_state: ModelState = Field(default="Pending", alias="activeModelState")
    target_model_state: ModelState | None = Field(default="", alias="targetModelState")


class FailureInfo(KubeModel):
    """Why the model last failed to load."""

    exit_code: Int32 | None = Field(default=None, alias="exitCode")
    location: str | None = None
    message: str | None = None
    model_revision_name: str | None = Field(default=None, alias="modelRevisionName")
    reason: (
        Literal[
            "BaseModelNotReady",
            "BaseModelNotFound",
            "ModelLoadFailed",
            "RuntimeUnhealthy",
            "RuntimeDisabled",
            "NoSupportingRuntime",
            "RuntimeNotRecognized",
            "InvalidPredictorSpec",
        ]
        | None
    ) = None
    time: Time | None = None


class ModelCopies(KubeModel):
    failed_copies: int = Field(default=0, alias="failedCopies")
    total_copies: int | None = Field(default=None, alias="totalCopies")


class ModelStatus(KubeModel):
    """The state of the served model across the component's pods."""

    last_failure_info: FailureInfo | None = Field(default=None, alias="lastFailureInfo")
    model_copies: ModelCopies | None = Field(default=None, alias="modelCopies")
    model_revision_states: ModelRevisionStates | None = Field(
        default=None, alias="modelRevisionStates"
    )
    transition_status: Literal[
        "", "UpToDate", "InProgress", "BlockedByFailedLoad", "InvalidSpec"
    ] = Field(default="UpToDate", alias="transitionStatus")


class InferenceServiceStatus(KubeModel):
    """Kept as written: fields unknown to this version are preserved, as upstream's CRD does."""

    model_config = ConfigDict(extra="allow")

    address: Addressable | None = None
    annotations: dict[str, str] | None = None
    components: dict[str, ComponentStatusSpec] | None = None
    conditions: list[KnativeCondition] | None = None
    model_status: ModelStatus | None = Field(default=None, alias="modelStatus")
    observed_generation: Int64 | None = Field(default=None, alias="observedGeneration")
    url: str | None = None
