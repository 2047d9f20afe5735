"""Model agents and the model controller in-process, on fake nodes of their own.

Each test gets kwok nodes named after its namespace, so it may label or delete them
without disturbing the shared ``gpu-node-*`` nodes, and one agent per node with a models
root of its own."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ome.agent.daemon import setup as setup_agent
from ome.agent.download import HfSettings, RetryPolicy, S3Settings
from ome.agent.node_agent import AgentSettings
from ome.agent.progress import ProgressDisplay
from ome.client import GVK, Client, NotFound
from ome.controllers.basemodel import setup as setup_models
from ome.controllers.kinds import CONFIGMAP, NODE
from ome.runtime import Manager, ManagerOptions
from ome.testing.nodes import FakeNode, is_ready
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import AGENT_ACCOUNT, MANAGER_ACCOUNT
from tests.integration.helpers import eventually, refused_nothing

STATUS_NAMESPACE = "ome"
NAMESPACE = GVK("", "v1", "Namespace")


def _options() -> ManagerOptions:
    return ManagerOptions(
        metrics_address="127.0.0.1:0", probe_address="127.0.0.1:0", handle_signals=False
    )


@contextlib.asynccontextmanager
async def running(manager: Manager, client: Client) -> AsyncIterator[Manager]:
    """Run ``manager`` (built on ``client``) until exit, then close the client."""
    try:
        async with manager.running():
            yield manager
    finally:
        await client.close()


async def ensure_status_namespace(client: Client) -> None:
    namespaces = await client.resource(NAMESPACE)
    body = {"metadata": {"name": STATUS_NAMESPACE}}
    await namespaces.apply(body, field_manager="test", force=True)


@contextlib.asynccontextmanager
async def fake_nodes(client: Client, names: Sequence[str]) -> AsyncIterator[list[str]]:
    """Ready kwok GPU nodes, deleted at the end."""
    nodes = await client.resource(NODE)
    for name in names:
        await nodes.apply(FakeNode(name, gpus=8).manifest(), field_manager="test", force=True)

    async def all_ready() -> bool:
        return all([is_ready(await nodes.get(name)) for name in names])

    await eventually(all_ready, timeout=60)
    try:
        yield list(names)
    finally:
        for name in names:
            with contextlib.suppress(NotFound):
                await nodes.delete(name)


@dataclass
class Agents:
    managers: dict[str, Manager]
    roots: dict[str, Path]


@contextlib.asynccontextmanager
async def model_agents(
    cluster: Cluster,
    nodes: Sequence[str],
    tmp_path: Path,
    *,
    hub_url: str | None = None,
    s3_url: str | None = None,
    retry_interval: float = 1.0,
    pvc_root: Path | None = None,
    simulate: bool = False,
    model_metadata: Path | None = None,
    progress_display: ProgressDisplay | None = None,
) -> AsyncIterator[Agents]:
    """One agent per node, each with a models root of its own under ``tmp_path``, as the
    agents' ServiceAccount under the shipped RBAC."""
    agents = Agents({}, {})
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(refused_nothing(cluster, AGENT_ACCOUNT))
        for node in nodes:
            root = tmp_path / f"models-{node}"
            root.mkdir(parents=True, exist_ok=True)
            settings = AgentSettings(
                node_name=node,
                models_root=root,
                namespace=STATUS_NAMESPACE,
                pvc_root=pvc_root,
                simulate=simulate,
                model_metadata=model_metadata,
                progress_interval=0.2,
                retry=RetryPolicy(attempts=1, base_delay=retry_interval, max_delay=retry_interval),
            )
            client = await cluster.agent_client()
            manager = Manager(client, _options())
            setup_agent(
                manager,
                settings,
                hf=HfSettings(endpoint=hub_url, progress_interval=0.2),
                s3=S3Settings(endpoint=s3_url, progress_interval=0.2),
                progress_display=progress_display,
            )
            agents.managers[node] = await stack.enter_async_context(running(manager, client))
            agents.roots[node] = root
        yield agents


@contextlib.asynccontextmanager
async def model_controller(
    cluster: Cluster, *, deletion_timeout: float = 600.0
) -> AsyncIterator[Manager]:
    """The model controllers, as the operator's ServiceAccount under the shipped RBAC."""
    with refused_nothing(cluster, MANAGER_ACCOUNT):
        client = await cluster.operator_client()
        manager = Manager(client, _options())
        setup_models(manager, status_namespace=STATUS_NAMESPACE, deletion_timeout=deletion_timeout)
        async with running(manager, client):
            yield manager


async def node_entry(client: Client, node: str, key: str) -> dict[str, Any] | None:
    """The model's entry in the node's status ConfigMap, parsed; None when absent."""
    configmaps = await client.resource(CONFIGMAP)
    try:
        found = await configmaps.get(node, STATUS_NAMESPACE)
    except NotFound:
        return None
    text = (found.get("data") or {}).get(key)
    return None if text is None else dict(json.loads(text))


async def node_labels(client: Client, node: str) -> Mapping[str, str]:
    found = await (await client.resource(NODE)).get(node)
    return dict(found["metadata"].get("labels") or {})
