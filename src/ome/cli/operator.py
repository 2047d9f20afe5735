"""The operator's manager with every controller: what ``ome run`` runs, in-cluster or
locally, and what tests and embedders start in-process."""

from __future__ import annotations

import dataclasses
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog

from ome import webhooks
from ome.client import Client, NotFound
from ome.controllers import (
    acceleratorclass,
    basemodel,
    benchmarkjob,
    dedicatedaicluster,
    finetunedweight,
    inferenceservice,
)
from ome.controllers.kinds import (
    HTTPROUTE,
    INFERENCEPOOL,
    KNATIVE_SERVICE,
    LEADERWORKERSET,
    SCALEDOBJECT,
)
from ome.runtime import LeaderElectionConfig, Manager, ManagerOptions

LEASE_NAME = "ome-controller-manager"
WEBHOOK_SERVICE = webhooks.provision.SERVICE_NAME
log = structlog.get_logger("ome.operator")


@dataclass(frozen=True)
class OperatorOptions:
    operator_namespace: str = "ome"
    """Where the operator's own objects are: inferenceservice-config, the model agents'
    status ConfigMaps, the leader election Lease."""
    namespace: str | None = None
    """The one namespace to watch; None: all."""
    leader_elect: bool = False
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}_{uuid.uuid4()}")
    """Unique per process, as controller-runtime's: two replicas on one host still differ."""
    metrics_address: str = ":8080"
    probe_address: str = ":8081"
    isvc_workers: int = 4
    model_workers: int = 2
    handle_signals: bool = True
    webhook_address: str | None = ":9443"
    """Where the admission webhooks listen; None: no webhooks."""
    webhook_url: str | None = None
    """The URL the API server calls the webhooks at when it is not the Service (a manager
    outside the cluster): the webhook configurations name it (the Helm chart's
    ``webhook.url``), and the serving certificate is made for its host."""
    leaderworkersets: bool = True
    """Whether the cluster serves the LeaderWorkerSet API that multi-node components need
    (see :func:`served_apis`): without it they report LeaderWorkerSetUnavailable."""
    scaledobjects: bool = True
    """Whether the cluster serves KEDA's ScaledObjects (``ome.io/autoscalerClass: keda``):
    without them such services report KedaUnavailable."""
    httproutes: bool = True
    """Whether the cluster serves Gateway API HTTPRoutes (``enableGatewayAPI``): without
    them services report GatewayAPIUnavailable while the config enables it."""
    inferencepools: bool = True
    """Whether the cluster serves the Inference Extension's InferencePools
    (``ome.io/inference-pool-endpoint-picker``): without them such services report
    InferencePoolUnavailable."""
    knativeservices: bool = True
    """Whether the cluster serves Knative Serving's Services (Serverless components):
    without them such services report KnativeServingUnavailable."""
    compact_caches: bool = True
    """Keep the caches of InferenceServices and their children as JSON, decoded on each
    read (:class:`ome.informers.CompactStore`): a third of the memory for those caches,
    a microsecond or a few per read."""
    local: bool = False
    """The API server runs on this machine: it calls the webhooks on loopback, and the
    webhook configurations are installed by this process and removed when it stops."""

    def __post_init__(self) -> None:
        if self.isvc_workers < 1 or self.model_workers < 1:
            raise ValueError("--isvc-workers and --model-workers must be >= 1")
        if self.local and self.webhook_address and self.webhook_address.endswith(":0"):
            raise ValueError(
                "--webhook-address: --local needs a fixed port (the API server is told it)"
            )


def build_manager(client: Client, options: OperatorOptions) -> Manager:
    election = (
        LeaderElectionConfig(
            name=LEASE_NAME,
            namespace=options.operator_namespace,
            identity=options.identity,
            release_on_cancel=True,
        )
        if options.leader_elect
        else None
    )
    manager = Manager(
        client,
        ManagerOptions(
            namespace=options.namespace,
            metrics_address=options.metrics_address,
            probe_address=options.probe_address,
            leader_election=election,
            handle_signals=options.handle_signals,
            identity=options.identity,
            compact_kinds=inferenceservice.CACHED_IN_QUANTITY
            if options.compact_caches
            else frozenset(),
        ),
    )
    inferenceservice.setup(
        manager,
        config_namespace=options.operator_namespace,
        workers=options.isvc_workers,
        watch_leaderworkersets=options.leaderworkersets,
        watch_scaledobjects=options.scaledobjects,
        watch_httproutes=options.httproutes,
        watch_inferencepools=options.inferencepools,
        watch_knativeservices=options.knativeservices,
    )
    basemodel.setup(
        manager, status_namespace=options.operator_namespace, workers=options.model_workers
    )
    finetunedweight.setup(
        manager, status_namespace=options.operator_namespace, workers=options.model_workers
    )
    acceleratorclass.setup(manager)
    benchmarkjob.setup(manager, config_namespace=options.operator_namespace)
    dedicatedaicluster.setup(manager, namespace=options.operator_namespace)
    if options.webhook_address:
        _setup_webhooks(manager, options, options.webhook_address)
    return manager


async def served_apis(client: Client, options: OperatorOptions) -> OperatorOptions:
    """``options`` with the optional APIs the cluster does not serve turned off: an
    informer of a kind the API server does not know would never sync."""
    optional = (
        (LEADERWORKERSET, "leaderworkersets", "multi-node services", "LeaderWorkerSetUnavailable"),
        (SCALEDOBJECT, "scaledobjects", "services scaled by KEDA", "KedaUnavailable"),
        (HTTPROUTE, "httproutes", "services behind a Gateway", "GatewayAPIUnavailable"),
        (INFERENCEPOOL, "inferencepools", "services with a pool", "InferencePoolUnavailable"),
        (KNATIVE_SERVICE, "knativeservices", "Serverless services", "KnativeServingUnavailable"),
    )
    missing: dict[str, bool] = {}
    for gvk, option, users, reason in optional:
        try:
            await client.mapper.resource_for(gvk.group, gvk.version, gvk.kind)
        except NotFound:
            log.warning(
                f"the cluster does not serve {gvk.kind}s: {users} will report {reason} "
                "until it does and the operator restarts",
                api_version=gvk.api_version,
            )
            missing[option] = False
    return dataclasses.replace(
        options,
        leaderworkersets=missing.get("leaderworkersets", options.leaderworkersets),
        scaledobjects=missing.get("scaledobjects", options.scaledobjects),
        httproutes=missing.get("httproutes", options.httproutes),
        inferencepools=missing.get("inferencepools", options.inferencepools),
        knativeservices=missing.get("knativeservices", options.knativeservices),
    )


def _setup_webhooks(manager: Manager, options: OperatorOptions, address: str) -> None:
    host, _, port = address.rpartition(":")
    if options.local:
        # The in-cluster certificate Secret is for the Service's names: a local process
        # keeps its own certificate rather than replace the cluster's.
        webhooks.setup(
            manager,
            address=f"{host or '127.0.0.1'}:{port}",
            url=f"https://{host or '127.0.0.1'}:{port}",
            install=True,
            uninstall_on_exit=True,
            secret_name=None,
            config_namespace=options.operator_namespace,
            namespace_selector=_watched(options.namespace),
        )
        return
    where: dict[str, Any] = (
        {"url": options.webhook_url}
        if options.webhook_url
        else {"service": (options.operator_namespace, WEBHOOK_SERVICE)}
    )
    webhooks.setup(
        manager,
        address=f"{host or '0.0.0.0'}:{port}",
        config_namespace=options.operator_namespace,
        **where,
    )


def _watched(namespace: str | None) -> dict[str, Any] | None:
    """Admission for the watched namespace only: the caches hold no other namespace's
    models and runtimes, so another namespace's services would be judged blind."""
    if namespace is None:
        return None
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
