"""RDMA for the pods of a component whose annotations ask for it
(``rdma.ome.io/auto-inject: "true"``), as upstream's pod webhook adds it to each pod
(``pkg/webhook/admission/pod/rdma_injector.go``); here it is part of the pod template, so
that what is applied is what runs. Runtimes for RDMA clusters rely on it: their leaders
mount ``/dev/shm`` and ``/dev/infiniband`` without declaring the volumes.

The profile (``rdma.ome.io/profile``, default ``oci-roce``) gives NCCL environment
variables, the two volumes and their mounts, and a privileged security context with
IPC_LOCK and CAP_SYS_ADMIN, for the container ``rdma.ome.io/container-name`` (default
``ome-container``); a pod without that container is left alone. Unlike upstream, which
appends the variables even when the container sets them (duplicates), the container's
own values win."""

from __future__ import annotations

from collections.abc import Mapping

from ome.serving.components import Spec
from ome.serving.problems import Reason, ServingError

AUTO_INJECT_ANNOTATION = "rdma.ome.io/auto-inject"
PROFILE_ANNOTATION = "rdma.ome.io/profile"
CONTAINER_ANNOTATION = "rdma.ome.io/container-name"
DEFAULT_PROFILE = "oci-roce"
DEFAULT_CONTAINER = "ome-container"

_OCI_ROCE_ENV = {
    "GLOO_SOCKET_IFNAME": "eth0",
    "HCOLL_ENABLE_MCAST_ALL": "0",
    "IB_RX_QUEUE_LEN": "8192",
    "NCCL_CROSS_NIC": "2",
    "NCCL_CUMEM_ENABLE": "0",
    "NCCL_DEBUG": "INFO",
    "NCCL_IB_GID_INDEX": "3",
    "NCCL_IB_HCA": "=mlx5_0,mlx5_1,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7,mlx5_8,mlx5_9,mlx5_10,"
    "mlx5_12,mlx5_13,mlx5_14,mlx5_15,mlx5_16,mlx5_17",
    "NCCL_IB_QPS_PER_CONNECTION": "16",
    "NCCL_IB_SL": "0",
    "NCCL_IB_SPLIT_DATA_ON_QPS": "0",
    "NCCL_IB_TC": "41",
    "NCCL_IB_TIMEOUT": "22",
    "NCCL_IGNORE_CPU_AFFINITY": "1",
    "NCCL_NET_PLUGIN": "none",
    "NCCL_SOCKET_IFNAME": "eth0",
    "NCCL_SOCKET_NTHREADS": "16",
    "RX_QUEUE_LEN": "8192",
    "UCX_NET_DEVICES": "eth0",
    "UCX_TLS": "tcp",
    "coll_hcoll_enable": "0",
}
_VOLUMES = (
    {"name": "dshm", "emptyDir": {"medium": "Memory"}},
    {"name": "devinf", "hostPath": {"path": "/dev/infiniband"}},
)
_MOUNTS = (
    {"name": "dshm", "mountPath": "/dev/shm"},
    {"name": "devinf", "mountPath": "/dev/infiniband"},
)
_CAPABILITIES = ("IPC_LOCK", "CAP_SYS_ADMIN")
_PROFILES = {DEFAULT_PROFILE: _OCI_ROCE_ENV}


def with_rdma(pod: Spec, annotations: Mapping[str, str]) -> Spec:
    """``pod`` with the RDMA profile the annotations ask for, if any."""
    if annotations.get(AUTO_INJECT_ANNOTATION) != "true":
        return pod
    profile = annotations.get(PROFILE_ANNOTATION) or DEFAULT_PROFILE
    if profile not in _PROFILES:
        known = ", ".join(sorted(_PROFILES))
        raise ServingError(
            Reason.UNKNOWN_RDMA_PROFILE,
            f"{PROFILE_ANNOTATION} {profile!r} is not a known RDMA profile ({known})",
        )
    target = annotations.get(CONTAINER_ANNOTATION) or DEFAULT_CONTAINER
    containers = pod.get("containers", [])
    if not any(c.get("name") == target for c in containers):
        return pod
    volumes = pod.get("volumes", [])
    present = {v.get("name") for v in volumes}
    return {
        **pod,
        "containers": [
            _container(c, _PROFILES[profile]) if c.get("name") == target else c for c in containers
        ],
        "volumes": [*volumes, *(dict(v) for v in _VOLUMES if v["name"] not in present)],
    }


def _container(container: Spec, env: Mapping[str, str]) -> Spec:
    own_env = container.get("env", [])
    named = {e.get("name") for e in own_env}
    mounts = container.get("volumeMounts", [])
    mounted = {m.get("name") for m in mounts}
    return {
        **container,
        "env": [*own_env, *({"name": k, "value": v} for k, v in env.items() if k not in named)],
        "volumeMounts": [*mounts, *(dict(m) for m in _MOUNTS if m["name"] not in mounted)],
        "securityContext": _security_context(container.get("securityContext")),
    }


def _security_context(context: Spec | None) -> Spec:
    context = dict(context or {})
    capabilities = dict(context.get("capabilities") or {})
    added = list(capabilities.get("add") or [])
    capabilities["add"] = added + [c for c in _CAPABILITIES if c not in added]
    context["capabilities"] = capabilities
    context.setdefault("privileged", True)
    return context
