"""The serving components (engine, decoder, router) as an InferenceService declares them and
a ServingRuntime configures them: a pod spec, scaling settings, the main container
("runner") and, for multi-node serving, a leader and workers."""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge
from pydantic import Field, StringConstraints

from ome.api import k8s
from ome.api.types import ATOMIC, Int64, IntOrString, KubeModel, list_map


class PodSpec(k8s.PodSpec):
    """A Kubernetes pod spec whose containers may be left out: a component names only
    what it changes and the runtime provides the rest."""

    containers: Annotated[list[k8s.Container], list_map("name")] | None = None  # type: ignore[assignment]


class RunnerSpec(k8s.Container):
    """The main container of a component, merged into the runtime's container of the same
    name (arguments are appended)."""

    # upstream's InferenceService CRD leaves the name out of a component's runner
    name: str | None = None  # type: ignore[assignment]


class AuthenticationRef(KubeModel):
    """The KEDA TriggerAuthentication used by the Prometheus trigger."""

    kind: Literal["TriggerAuthentication", "ClusterTriggerAuthentication"] | None = (
        "TriggerAuthentication"
    )
    name: Annotated[str, StringConstraints(min_length=1)]


class KedaConfig(KubeModel):
    """Autoscaling with a KEDA ScaledObject and a Prometheus trigger."""

    auth_modes: str | None = Field(
        default=None, alias="authModes", description="Comma list of basic, tls, bearer, custom."
    )
    authentication_ref: AuthenticationRef | None = Field(default=None, alias="authenticationRef")
    custom_prom_query: str | None = Field(
        default=None, alias="customPromQuery", description="%s is the component's name."
    )
    enable_keda: bool | None = Field(default=None, alias="enableKeda")
    prom_server_address: str | None = Field(default=None, alias="promServerAddress")
    scaling_operator: str | None = Field(default=None, alias="scalingOperator")
    scaling_threshold: str | None = Field(default=None, alias="scalingThreshold")


class AcceleratorConstraints(KubeModel):
    """What an accelerator class must offer."""

    architecture_families: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="architectureFamilies"
    )
    excluded_classes: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="excludedClasses"
    )
    max_memory: Int64 | None = Field(default=None, alias="maxMemory")
    min_architecture_version: str | None = Field(default=None, alias="minArchitectureVersion")
    min_compute_performance_tflops: Int64 | None = Field(
        default=None, alias="minComputePerformanceTFLOPS"
    )
    min_memory: Int64 | None = Field(default=None, alias="minMemory")
    preferred_precisions: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="preferredPrecisions"
    )
    required_features: Annotated[list[str], ATOMIC] | None = Field(
        default=None, alias="requiredFeatures"
    )


class AcceleratorSelector(KubeModel):
    """An accelerator class by name, or by constraints and a selection policy."""

    accelerator_class: str | None = Field(default=None, alias="acceleratorClass")
    constraints: AcceleratorConstraints | None = None
    policy: Literal["BestFit", "Cheapest", "MostCapable", "FirstAvailable"] | None = None


Replicas = Annotated[int, Ge(0)]


class ComponentExtensionSpec(KubeModel):
    """Scaling, rollout and pod metadata of a component."""

    annotations: dict[str, str] | None = Field(default=None, description="Pod annotations.")
    canary_traffic_percent: Int64 | None = Field(default=None, alias="canaryTrafficPercent")
    container_concurrency: Int64 | None = Field(default=None, alias="containerConcurrency")
    deployment_strategy: k8s.DeploymentStrategy | None = Field(
        default=None, alias="deploymentStrategy"
    )
    keda_config: KedaConfig | None = Field(default=None, alias="kedaConfig")
    labels: dict[str, str] | None = Field(default=None, description="Pod labels.")
    max_replicas: Replicas | None = Field(default=None, alias="maxReplicas")
    max_unavailable: IntOrString | None = Field(
        default=None, alias="maxUnavailable", description="PodDisruptionBudget."
    )
    min_available: IntOrString | None = Field(
        default=None, alias="minAvailable", description="PodDisruptionBudget."
    )
    min_replicas: Replicas | None = Field(
        default=None, alias="minReplicas", description="0 makes the component scale to zero."
    )
    scale_metric: Literal["cpu", "memory", "concurrency", "rps"] | None = Field(
        default=None, alias="scaleMetric"
    )
    scale_target: int | None = Field(default=None, alias="scaleTarget")
    timeout_seconds: Int64 | None = Field(default=None, alias="timeoutSeconds")


class LeaderSpec(PodSpec):
    """The leader pod of a multi-node component."""

    runner: RunnerSpec | None = None


class WorkerSpec(PodSpec):
    """The worker pods of a multi-node component."""

    runner: RunnerSpec | None = None
    size: Replicas | None = Field(default=None, description="Worker pods per leader.")


class EngineSpec(PodSpec, ComponentExtensionSpec):
    """The engine: serves the model (the prefill side when a decoder is present)."""

    accelerator_override: AcceleratorSelector | None = Field(
        default=None, alias="acceleratorOverride"
    )
    leader: LeaderSpec | None = None
    runner: RunnerSpec | None = None
    worker: WorkerSpec | None = None


class DecoderSpec(EngineSpec):
    """The decoder of prefill-decode disaggregated serving (same shape as the engine)."""


class RouterSpec(PodSpec, ComponentExtensionSpec):
    """The router in front of the engine (and decoder)."""

    config: dict[str, str] | None = Field(
        default=None, description="Router settings, passed to the runner as environment."
    )
    runner: RunnerSpec | None = None
