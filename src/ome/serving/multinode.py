"""The objects of a MultiNode component (upstream ``reconcilers/multinode`` and
``reconcilers/lws``): a LeaderWorkerSet whose groups are one leader and ``worker.size``
workers, and a Service to the leaders. Upstream makes no autoscaler and no
PodDisruptionBudget for it: the number of groups is ``minReplicas`` (else 1).

A group is restarted as a whole when one of its pods restarts (``RecreateGroupOnPodRestart``),
the workers start once the leader pod exists (``LeaderCreated``), and all groups share one
headless subdomain. The LeaderWorkerSet controller gives every pod of a group
``LWS_LEADER_ADDRESS``, ``LWS_GROUP_SIZE`` and ``LWS_WORKER_INDEX`` (runtimes use them in
their arguments) and the labels of :mod:`ome.serving.leaderworkerset`.

Unlike upstream, whose Service selects every pod labelled ``ray.io/node-type: head`` in the
namespace (so two multi-node services there share traffic), the Service selects the
component's own leaders: ``app`` and ``ray.io/node-type: head``."""

from __future__ import annotations

from ome.serving import leaderworkerset as lws
from ome.serving.components import Spec
from ome.serving.metadata import APP_LABEL
from ome.serving.plan import LEADER_NODE_TYPE, NODE_TYPE_LABEL, Workload
from ome.serving.raw import metadata, service

# Workers expose no metrics endpoint: upstream keeps scrapers off them.
_LEADER_ONLY_ANNOTATIONS = frozenset(
    {"prometheus.io/path", "prometheus.io/port", "prometheus.io/scrape"}
)
_MAX_SURGE = 1
_MAX_UNAVAILABLE = 1


def multinode_objects(workload: Workload, namespace: str) -> list[Spec]:
    return [leader_worker_set(workload, namespace), leaders_service(workload, namespace)]


def leader_worker_set(workload: Workload, namespace: str) -> Spec:
    worker_annotations = {
        k: v for k, v in workload.annotations.items() if k not in _LEADER_ONLY_ANNOTATIONS
    }
    return {
        "apiVersion": lws.API_VERSION,
        "kind": lws.KIND,
        "metadata": metadata(
            workload.object_ref.name, namespace, workload.labels, workload.annotations
        ),
        "spec": {
            "replicas": workload.groups,
            "startupPolicy": "LeaderCreated",
            "networkConfig": {"subdomainPolicy": "Shared"},
            "rolloutStrategy": {
                "type": "RollingUpdate",
                "rollingUpdateConfiguration": {
                    "maxUnavailable": _MAX_UNAVAILABLE,
                    "maxSurge": _MAX_SURGE,
                },
            },
            "leaderWorkerTemplate": {
                "size": workload.group_size,
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": _template(
                    workload.pod, workload.pod_labels, workload.annotations
                ),
                "workerTemplate": _template(
                    workload.worker_pod or workload.pod, workload.worker_labels, worker_annotations
                ),
            },
        },
    }


def _template(pod: Spec, labels: dict[str, str], annotations: dict[str, str]) -> Spec:
    meta: Spec = {"labels": dict(labels)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": pod}


def leaders_service(workload: Workload, namespace: str) -> Spec:
    """The component's Service, to the groups' leaders."""
    selector = {APP_LABEL: workload.app, NODE_TYPE_LABEL: LEADER_NODE_TYPE}
    return service(workload, namespace, selector=selector, labels=workload.labels)
