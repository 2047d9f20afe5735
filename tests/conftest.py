"""The OME operator's shape of the test cluster: the framework's pytest plugin (enabled in
pyproject's addopts) starts it with fake GPU nodes, the LeaderWorkerSet controller and the
add-on APIs (KEDA, Gateway API, InferencePool, Knative Serving) a service may use, and acts as the
operator's ServiceAccounts under the RBAC in this repository's manifests/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ome.testing.nodes import gpu_nodes
from ome.testing.serviceaccount import MANIFESTS_ENV

NODE_COUNT = 2
GPUS_PER_NODE = 8

os.environ.setdefault(MANIFESTS_ENV, str(Path(__file__).resolve().parents[1] / "manifests"))


@pytest.fixture(scope="session")
def control_plane_options() -> dict[str, Any]:
    return {
        "controller_manager": True,
        "scheduler": True,
        "nodes": gpu_nodes(NODE_COUNT, GPUS_PER_NODE),
        "leaderworkerset": True,
        "addon_crds": True,
    }
