"""Wiring: the BenchmarkJobs, their Jobs, the InferenceServices they target, the
services' pods and models, and ``benchmarkjob-config``."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import KubeObject
from ome.controllers.benchmarkjob.reconciler import BenchmarkJobReconciler
from ome.controllers.kinds import (
    BASEMODEL,
    BENCHMARKJOB,
    CLUSTERBASEMODEL,
    CONFIGMAP,
    INFERENCESERVICE,
    JOB,
    POD,
)
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.serving.benchmark import CONFIG_NAME
from ome.serving.metadata import INFERENCESERVICE_LABEL

CONTROLLER_NAME = "benchmarkjob-controller"
DEFAULT_CONFIG_NAMESPACE = "ome"


def setup(manager: Manager, *, config_namespace: str | None = None, workers: int = 1) -> Controller:
    namespace = config_namespace or manager.options.namespace or DEFAULT_CONFIG_NAMESPACE
    benchmarks = manager.informer(BENCHMARKJOB)
    jobs = manager.informer(JOB)
    services = manager.informer(INFERENCESERVICE)
    config = manager.informer(
        CONFIGMAP, namespace=namespace, field_selector=f"metadata.name={CONFIG_NAME}"
    )
    reconciler = BenchmarkJobReconciler(
        client=manager.client,
        benchmarks=benchmarks,
        jobs=jobs,
        services=services,
        # the InferenceService controller's own informer of its pods (shared)
        pods=manager.informer(POD, label_selector=INFERENCESERVICE_LABEL),
        base_models=manager.informer(BASEMODEL),
        cluster_base_models=manager.informer(CLUSTERBASEMODEL),
        config=config,
        config_namespace=namespace,
        recorder=manager.event_recorder(CONTROLLER_NAME),
    )

    def targeting(service: KubeObject) -> Iterable[Request]:
        meta = service.get("metadata", {})
        return [
            Request.for_object(b)
            for b in benchmarks.store.list()
            if ((b.get("spec") or {}).get("endpoint") or {}).get("inferenceService")
            == {"name": meta.get("name"), "namespace": meta.get("namespace")}
            and b.get("status", {}).get("state", "Pending") == "Pending"
        ]

    def waiting(_: KubeObject) -> Iterable[Request]:
        return [
            Request.for_object(b)
            for b in benchmarks.store.list()
            if (b.get("status") or {}).get("state", "Pending") == "Pending"
        ]

    return (
        controller_managed_by(manager)
        .for_(benchmarks)
        .owns(jobs)
        .watches(services, targeting)
        .watches(config, waiting)
        .named(CONTROLLER_NAME)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
