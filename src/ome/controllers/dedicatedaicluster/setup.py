"""Wiring: the DACs, their profiles, the placeholder Deployments, the DACs' pods and the
nodes."""

from __future__ import annotations

from collections.abc import Iterable

from ome.client import KubeObject
from ome.controllers.dedicatedaicluster.reconciler import POD_INDEX, DedicatedAIClusterReconciler
from ome.controllers.kinds import (
    DEDICATEDAICLUSTER,
    DEDICATEDAICLUSTERPROFILE,
    DEPLOYMENT,
    NODE,
    POD,
)
from ome.runtime import Controller, Manager, Request, controller_managed_by
from ome.serving.dedicated import DAC_LABEL, FAILURE_THRESHOLD, PLACEHOLDER_LABEL, label_value

CONTROLLER_NAME = "dedicatedaicluster-controller"
DEFAULT_NAMESPACE = "ome"
PROFILE_INDEX = "profile"
LABEL_INDEX = "label"
"""Index of the DACs by the value of their pods' label (the name, cut to 63)."""


def _profile_index(dac: KubeObject) -> list[str]:
    name = (dac.get("spec") or {}).get("profile")
    return [str(name)] if name else []


def _label_index(dac: KubeObject) -> list[str]:
    return [label_value(dac["metadata"]["name"])]


def _pod_index(pod: KubeObject) -> list[str]:
    value = (pod["metadata"].get("labels") or {}).get(DAC_LABEL)
    return [value] if value else []


def setup(
    manager: Manager,
    *,
    namespace: str | None = None,
    workers: int = 2,
    threshold: float = FAILURE_THRESHOLD,
) -> Controller:
    """``namespace``: where the placeholders run (the operator's own namespace)."""
    namespace = namespace or manager.options.namespace or DEFAULT_NAMESPACE
    dacs = manager.informer(DEDICATEDAICLUSTER)
    dacs.add_indexers({PROFILE_INDEX: _profile_index, LABEL_INDEX: _label_index})
    profiles = manager.informer(DEDICATEDAICLUSTERPROFILE)
    deployments = manager.informer(
        DEPLOYMENT, namespace=namespace, label_selector=f"{PLACEHOLDER_LABEL}=true"
    )
    # The manager's namespaces: a DAC's workloads are wherever their owners put them.
    pods = manager.informer(POD, label_selector=DAC_LABEL)
    pods.add_indexers({POD_INDEX: _pod_index})
    nodes = manager.informer(NODE, metadata_only=True)
    reconciler = DedicatedAIClusterReconciler(
        client=manager.client,
        dacs=dacs,
        profiles=profiles,
        deployments=deployments,
        pods=pods,
        nodes=nodes,
        recorder=manager.event_recorder(CONTROLLER_NAME),
        namespace=namespace,
        threshold=threshold,
    )

    def of_profile(profile: KubeObject) -> Iterable[Request]:
        name = profile["metadata"]["name"]
        return [Request.for_object(d) for d in dacs.store.by_index(PROFILE_INDEX, name)]

    def of_labelled(obj: KubeObject) -> Iterable[Request]:
        value = (obj["metadata"].get("labels") or {}).get(DAC_LABEL)
        if not value:
            return ()
        return [Request.for_object(d) for d in dacs.store.by_index(LABEL_INDEX, value)]

    return (
        controller_managed_by(manager)
        .for_(dacs)
        .watches(profiles, of_profile)
        .watches(deployments, of_labelled)
        .watches(pods, of_labelled)
        .named(CONTROLLER_NAME)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
