"""What upstream's pod webhook adds to a pod asking for RDMA with the ``oci-roce``
profile (upstream pkg/webhook/admission/pod/rdma_injector.go, ``RDMAProfiles`` and
``injectContainerConfig``), written out so that tests compare against upstream's values
rather than the implementation's."""

from __future__ import annotations

import copy
from typing import Any

OCI_ROCE_ENV = [  # appended in sorted order ("for deterministic behavior")
    ("GLOO_SOCKET_IFNAME", "eth0"),
    ("HCOLL_ENABLE_MCAST_ALL", "0"),
    ("IB_RX_QUEUE_LEN", "8192"),
    ("NCCL_CROSS_NIC", "2"),
    ("NCCL_CUMEM_ENABLE", "0"),
    ("NCCL_DEBUG", "INFO"),
    ("NCCL_IB_GID_INDEX", "3"),
    (
        "NCCL_IB_HCA",
        "=mlx5_0,mlx5_1,mlx5_3,mlx5_4,mlx5_5,mlx5_6,mlx5_7,mlx5_8,mlx5_9,mlx5_10,"
        "mlx5_12,mlx5_13,mlx5_14,mlx5_15,mlx5_16,mlx5_17",
    ),
    ("NCCL_IB_QPS_PER_CONNECTION", "16"),
    ("NCCL_IB_SL", "0"),
    ("NCCL_IB_SPLIT_DATA_ON_QPS", "0"),
    ("NCCL_IB_TC", "41"),
    ("NCCL_IB_TIMEOUT", "22"),
    ("NCCL_IGNORE_CPU_AFFINITY", "1"),
    ("NCCL_NET_PLUGIN", "none"),
    ("NCCL_SOCKET_IFNAME", "eth0"),
    ("NCCL_SOCKET_NTHREADS", "16"),
    ("RX_QUEUE_LEN", "8192"),
    ("UCX_NET_DEVICES", "eth0"),
    ("UCX_TLS", "tcp"),
    ("coll_hcoll_enable", "0"),
]
MOUNTS = [
    {"name": "dshm", "mountPath": "/dev/shm"},
    {"name": "devinf", "mountPath": "/dev/infiniband"},
]
VOLUMES = [
    {"name": "dshm", "emptyDir": {"medium": "Memory"}},
    {"name": "devinf", "hostPath": {"path": "/dev/infiniband"}},
]
SECURITY_CONTEXT = {"capabilities": {"add": ["IPC_LOCK", "CAP_SYS_ADMIN"]}, "privileged": True}


def with_upstream_rdma(pod: dict[str, Any], container: str = "ome-container") -> dict[str, Any]:
    """``pod`` with upstream's additions to ``container``, except a variable the container
    already sets (upstream appends a duplicate)."""
    pod = copy.deepcopy(pod)
    (target,) = [c for c in pod["spec"]["containers"] if c["name"] == container]
    named = {e["name"] for e in target.get("env", [])}
    target["env"] = target.get("env", []) + [
        {"name": k, "value": v} for k, v in OCI_ROCE_ENV if k not in named
    ]
    mounted = {m["name"] for m in target.get("volumeMounts", [])}
    target["volumeMounts"] = target.get("volumeMounts", []) + [
        m for m in MOUNTS if m["name"] not in mounted
    ]
    context = target.setdefault("securityContext", copy.deepcopy(SECURITY_CONTEXT))
    capabilities = context.setdefault("capabilities", {})
    added = capabilities.setdefault("add", [])
    added += [c for c in SECURITY_CONTEXT["capabilities"]["add"] if c not in added]
    context.setdefault("privileged", True)
    present = {v["name"] for v in pod["spec"].get("volumes", [])}
    pod["spec"]["volumes"] = pod["spec"].get("volumes", []) + [
        v for v in VOLUMES if v["name"] not in present
    ]
    return pod
