"""A real Kubernetes control plane for tests and local runs, and the pytest plugin
that hands it to tests."""

from ome.testing.binaries import BuildError
from ome.testing.controlplane import ControlPlane
from ome.testing.nodes import FakeNode, gpu_nodes
from ome.testing.process import ComponentError
from ome.testing.serviceaccount import AuditLog, service_account_client

__all__ = [
    "AuditLog",
    "BuildError",
    "ComponentError",
    "ControlPlane",
    "FakeNode",
    "gpu_nodes",
    "service_account_client",
]
