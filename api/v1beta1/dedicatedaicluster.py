"""DedicatedAICluster and DedicatedAIClusterProfile (cluster-scoped): capacity reserved for
a tenant, as in upstream's earlier definitions (they are not in its current tree)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ome.api import k8s
from ome.api.meta import AGE, Condition, PrinterColumn
from ome.api.types import ATOMIC, KubeModel
from ome.api.v1beta1.common import OmeObject


class Placement(KubeModel):
    """Resources and scheduling of the reserved capacity."""

    affinity: k8s.Affinity | None = None
    count: int | None = Field(
        default=None,
        description="A DedicatedAICluster's units; a profile's pods per unit (default 1).",
    )
    node_selector: dict[str, str] | None = Field(default=None, alias="nodeSelector")
    priority_class_name: str | None = Field(
        default=None,
        alias="priorityClassName",
        description="The class of the DAC's workloads (default ome-dac-workload).",
    )
    resources: k8s.ResourceRequirements | None = Field(
        default=None, description="Resources of one pod of a unit."
    )
    tolerations: Annotated[list[k8s.Toleration], ATOMIC] | None = None


class DedicatedAIClusterSpec(Placement):
    capacity_reservation_id: str | None = Field(default=None, alias="capacityReservationId")
    compartment_id: str | None = Field(default=None, alias="compartmentID")
    profile: str | None = Field(
        default=None, description="A DedicatedAIClusterProfile; this spec's fields win."
    )


class DedicatedAIClusterStatus(KubeModel):
    allocated_gpu: int | None = Field(default=None, alias="allocatedGpu")
    available_gpu: int | None = Field(default=None, alias="availableGpu")
    conditions: Annotated[list[Condition], ATOMIC] | None = None
    dac_lifecycle_state: Literal["ACTIVE", "CREATING", "DELETING", "FAILED", "UPDATING"] | None = (
        Field(default=None, alias="dacLifecycleState")
    )
    lifecycle_detail: str | None = Field(default=None, alias="lifecycleDetail")
    nodes: list[str] | None = Field(
        default=None, description="Ours: the nodes holding the reservation or its workloads."
    )
    observed_generation: int | None = Field(
        default=None, alias="observedGeneration", description="Ours."
    )


class DedicatedAICluster(OmeObject):
    """Capacity reserved for a tenant's workloads."""

    KIND = "DedicatedAICluster"
    PLURAL = "dedicatedaiclusters"
    SCOPE = "Cluster"
    PRINTER_COLUMNS = (
        PrinterColumn("Profile", "string", ".spec.profile"),
        PrinterColumn("Count", "integer", ".spec.count"),
        PrinterColumn("Status", "string", ".status.dacLifecycleState"),
        PrinterColumn("Available", "integer", ".status.availableGpu"),
        PrinterColumn("Allocated", "integer", ".status.allocatedGpu"),
        AGE,
    )

    spec: DedicatedAIClusterSpec = Field(default_factory=DedicatedAIClusterSpec)
    status: DedicatedAIClusterStatus | None = None


class DedicatedAIClusterProfileSpec(Placement):
    affinity: k8s.Affinity
    disabled: bool | None = Field(default=None, description="A disabled profile is not used.")
    resources: k8s.ResourceRequirements


class DedicatedAIClusterProfileStatus(KubeModel):
    """Empty: profiles report no status."""


class DedicatedAIClusterProfile(OmeObject):
    """Reusable resources and scheduling for DedicatedAIClusters."""

    KIND = "DedicatedAIClusterProfile"
    PLURAL = "dedicatedaiclusterprofiles"
    SCOPE = "Cluster"
    PRINTER_COLUMNS = (
        PrinterColumn("Disabled", "boolean", ".spec.disabled"),
        PrinterColumn("Count", "integer", ".spec.count"),
        AGE,
    )

    spec: DedicatedAIClusterProfileSpec
    status: DedicatedAIClusterProfileStatus | None = None
