"""AcceleratorClass (cluster-scoped): a kind of accelerator, how to find nodes that have it,
what it can do and what it costs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ome.api import k8s
from ome.api.meta import Condition, PrinterColumn
from ome.api.types import ATOMIC, Int32, Int64, KubeModel, Quantity, Time
from ome.api.v1beta1.common import OmeObject


class AcceleratorDiscovery(KubeModel):
    """How to recognise nodes with this accelerator."""

    affinity: k8s.Affinity | None = None
    device_ids: Annotated[list[str], ATOMIC] | None = Field(default=None, alias="deviceIDs")
    node_selector: dict[str, str] | None = Field(default=None, alias="nodeSelector")
    pci_vendor_id: str | None = Field(default=None, alias="pciVendorID")


class Latency(KubeModel):
    average_millis: Int64 | None = Field(default=None, alias="averageMillis")
    maximum_millis: Int64 | None = Field(default=None, alias="maximumMillis")


class Performance(KubeModel):
    fp16_tflops: Int64 | None = Field(default=None, alias="fp16Tflops")
    fp32_tflops: Int64 | None = Field(default=None, alias="fp32Tflops")
    int4_tops: Int64 | None = Field(default=None, alias="int4Tops")
    int8_tops: Int64 | None = Field(default=None, alias="int8Tops")
    latency: Latency | None = None


class AcceleratorCapabilities(KubeModel):
    clock_speed_mhz: Int32 | None = Field(default=None, alias="clockSpeedMHz")
    compute_capability: str | None = Field(
        default=None, alias="computeCapability", description="e.g. 9.0"
    )
    features: Annotated[list[str], ATOMIC] | None = None
    level_zero_version: str | None = Field(default=None, alias="levelZeroVersion")
    memory_bandwidth_gbps: Quantity | None = Field(default=None, alias="memoryBandwidthGBps")
    memory_gb: Quantity | None = Field(default=None, alias="memoryGB")
    performance: Performance | None = None


class AcceleratorResource(KubeModel):
    """A resource to request per accelerator."""

    divisible: bool | None = None
    name: str = Field(description="e.g. nvidia.com/gpu")
    quantity: Quantity | None = "1"


class AcceleratorIntegration(KubeModel):
    kueue_resource_flavor: str | None = Field(default=None, alias="kueueResourceFlavor")
    volcano_gpu_type: str | None = Field(default=None, alias="volcanoGPUType")


class AcceleratorCost(KubeModel):
    per_hour: Quantity | None = Field(default=None, alias="perHour")
    per_million_tokens: Quantity | None = Field(default=None, alias="perMillionTokens")
    spot_per_hour: Quantity | None = Field(default=None, alias="spotPerHour")
    tier: str | None = Field(default=None, description="low, medium or high")


class AcceleratorClassSpec(KubeModel):
    capabilities: AcceleratorCapabilities
    cost: AcceleratorCost | None = None
    discovery: AcceleratorDiscovery
    family: str | None = Field(default=None, description="e.g. hopper")
    integration: AcceleratorIntegration | None = None
    model: str | None = Field(default=None, description="e.g. H100")
    resources: Annotated[list[AcceleratorResource], ATOMIC] | None = None
    vendor: str | None = Field(default=None, description="e.g. nvidia")


class AcceleratorClassStatus(KubeModel):
    available_accelerators: Int32 | None = Field(default=None, alias="availableAccelerators")
    available_nodes: Int32 | None = Field(default=None, alias="availableNodes")
    conditions: Annotated[list[Condition], ATOMIC] | None = None
    last_updated: Time | None = Field(default=None, alias="lastUpdated")
    nodes: Annotated[list[str], ATOMIC] | None = None
    total_accelerators: Int32 | None = Field(default=None, alias="totalAccelerators")


class AcceleratorClass(OmeObject):
    """A kind of accelerator available in the cluster."""

    KIND = "AcceleratorClass"
    PLURAL = "acceleratorclasses"
    SCOPE = "Cluster"
    PRINTER_COLUMNS = (
        PrinterColumn("Vendor", "string", ".spec.vendor"),
        PrinterColumn("Family", "string", ".spec.family"),
        PrinterColumn("Memory", "string", ".spec.capabilities.memoryGB"),
        PrinterColumn("Nodes", "integer", ".status.availableNodes"),
        PrinterColumn("Accelerators", "integer", ".status.totalAccelerators"),
        PrinterColumn("Available", "integer", ".status.availableAccelerators"),
    )

    spec: AcceleratorClassSpec
    status: AcceleratorClassStatus | None = None
