from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from ome.client import Client
from ome.testing.pytest_plugin import Cluster
from tests.integration.agent.fakehub import FakeHub, serve
from tests.integration.models.support import ensure_status_namespace
from tests.unit.agent.helpers import MINILM

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = "sentence-transformers/all-MiniLM-L6-v2"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def models_cluster(cluster: Cluster) -> Cluster:
    """The control plane with our CRDs and the namespace of the node status ConfigMaps."""
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    async with await cluster.client() as admin:
        await ensure_status_namespace(admin)
    return cluster


@pytest_asyncio.fixture(loop_scope="session")
async def hub() -> AsyncIterator[FakeHub]:
    """A Hub on loopback serving the real MiniLM model."""
    hub = FakeHub()
    hub.add_repo(PUBLIC, MINILM)
    async with serve(hub):
        yield hub


@pytest_asyncio.fixture(loop_scope="session")
async def admin(models_cluster: Cluster) -> AsyncIterator[Client]:
    async with await models_cluster.client() as client:
        yield client
