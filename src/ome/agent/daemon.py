"""Wiring of the node daemon on the framework: informers on the models, the fine-tuned
weights and this node, one controller per kind, the health check, and the background loop that
cleans up after an earlier run and repairs what others removed.

    manager = Manager(client, ManagerOptions(namespace=None))
    agent = setup(manager, AgentSettings(node_name="gpu-0", models_root=Path("/mnt/models")))
    await manager.run()
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from ome.agent import finetuned
from ome.agent.download import (
    Downloaders,
    HfSettings,
    LocalDownloader,
    S3Settings,
    hf_downloader,
    s3_downloader,
)
from ome.agent.download.settings import hub_endpoint
from ome.agent.metrics import AgentMetrics
from ome.agent.node_agent import AgentSettings, NodeAgent
from ome.agent.progress import ProgressDisplay
from ome.agent.publisher import NodeStatusPublisher
from ome.agent.remote_metadata import MetadataSources
from ome.api.v1beta1 import BaseModel, ClusterBaseModel
from ome.client import KubeObject
from ome.controllers.kinds import BASEMODEL, CLUSTERBASEMODEL, FINETUNEDWEIGHT, NODE
from ome.informers import SharedInformer
from ome.runtime import Manager, Request, controller_managed_by
from ome.runtime.handlers import EventHandler
from ome.serving.naming import MODEL_LABEL_DOMAIN, fine_tuned_ready_label

KINDS = {BaseModel.KIND: BASEMODEL, ClusterBaseModel.KIND: CLUSTERBASEMODEL}
REPAIR_INTERVAL = 300.0
"""Seconds between re-publications of everything this agent said (upstream: 5 min)."""


class _EligibilityChanged(EventHandler):
    """Every model of a kind, when the node's labels change other than by the model
    labels the agents themselves write (those would wake every model on each report)."""

    def __init__(self, models: SharedInformer) -> None:
        self.models = models

    def requests(self, obj: KubeObject) -> Iterable[Request]:
        return [Request.for_object(model) for model in self.models.store.list()]

    def for_update(self, old: KubeObject, new: KubeObject) -> set[Request]:
        if _own_labels_aside(old) == _own_labels_aside(new):
            return set()
        return set(self.requests(new))


def _own_labels_aside(node: KubeObject) -> dict[str, str]:
    labels = node.get("metadata", {}).get("labels") or {}
    return {k: v for k, v in labels.items() if not k.startswith(f"{MODEL_LABEL_DOMAIN}/")}


class _WeightEligibilityChanged(_EligibilityChanged):
    """Every FineTunedWeight, when the node's labels change other than by the weights'
    own labels: a base model becoming Ready (or gone) changes which weights are meant
    for the node."""

    def for_update(self, old: KubeObject, new: KubeObject) -> set[Request]:
        if _weight_labels_aside(old) == _weight_labels_aside(new):
            return set()
        return set(self.requests(new))


_WEIGHT_LABEL_PREFIX = fine_tuned_ready_label("")


def _weight_labels_aside(node: KubeObject) -> dict[str, str]:
    labels = node.get("metadata", {}).get("labels") or {}
    return {k: v for k, v in labels.items() if not k.startswith(_WEIGHT_LABEL_PREFIX)}


def setup(
    manager: Manager,
    settings: AgentSettings,
    *,
    hf: HfSettings | None = None,
    s3: S3Settings | None = None,
    repair_interval: float = REPAIR_INTERVAL,
    progress_display: ProgressDisplay | None = None,
) -> NodeAgent:
    nodes = manager.informer(NODE, field_selector=f"metadata.name={settings.node_name}")
    models = {kind: manager.informer(gvk) for kind, gvk in KINDS.items()}
    hf = hf or HfSettings()
    s3 = s3 or S3Settings()
    weights = manager.informer(FINETUNEDWEIGHT)
    agent = NodeAgent(
        settings,
        client=manager.client,
        stores={**models, finetuned.KIND: weights},
        node_store=nodes.store,
        downloaders=Downloaders(
            {"hf": hf_downloader(hf), "s3": s3_downloader(s3), "local": LocalDownloader()}
        ),
        metrics=AgentMetrics(manager.registry),
        publisher=NodeStatusPublisher(
            manager.client, settings.node_name, settings.namespace, settings.pod_name
        ),
        metadata_sources=MetadataSources(hub_endpoint(hf), s3, settings.model_metadata),
        progress_display=progress_display,
    )
    for kind in KINDS:
        controller = (
            controller_managed_by(manager)
            .for_(models[kind])
            .watches(nodes, _EligibilityChanged(models[kind]))
            .named(f"model-agent-{kind.lower()}")
            .with_options(max_concurrent_reconciles=2)
            .complete(agent.reconciler(kind))
        )
        agent.wake[kind] = controller.queue
    weight_controller = (
        controller_managed_by(manager)
        .for_(weights)
        .watches(nodes, _WeightEligibilityChanged(weights))
        .named("model-agent-finetunedweight")
        .with_options(max_concurrent_reconciles=2)
        .complete(agent.reconciler(finetuned.KIND))
    )
    agent.wake[finetuned.KIND] = weight_controller.queue
    manager.probes.add_healthz_check("models-root", lambda: _models_root_problem(settings))

    async def housekeeping() -> None:
        try:
            for ref in await agent.load_reported():
                agent.wake[ref.kind].add(Request(ref.namespace or "", ref.name))
            while True:
                await asyncio.sleep(repair_interval)
                await agent.publisher.repair()
        finally:
            await agent.downloads.cancel_all()

    manager.add_runnable(housekeeping, needs_leader=False)
    return agent


def _models_root_problem(settings: AgentSettings) -> str | None:
    """Upstream's health rule: the models root exists, is a directory, is writable."""
    root = settings.models_root
    if not root.is_dir():
        return f"models root {root} is not a directory"
    if not os.access(root, os.W_OK | os.X_OK):
        return f"models root {root} is not writable"
    return None
