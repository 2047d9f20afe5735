"""The LeaderWorkerSet controller on the control plane: groups of leader and worker pods
scheduled onto fake GPU nodes, and its webhooks defaulting and validating."""

from __future__ import annotations

from typing import Any

import pytest

from ome.client import ApiError, Client
from ome.testing import leaderworkerset
from ome.testing.nodes import GPU_RESOURCE
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

# upstream api/leaderworkerset/v1/leaderworkerset_types.go
SET_NAME = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"
GROUP_INDEX = "leaderworkerset.sigs.k8s.io/group-index"
LEADER_ADDRESS = "LWS_LEADER_ADDRESS"


def group_set(name: str, *, replicas: int, size: int, gpus: int = 1) -> dict[str, Any]:
    container = {
        "name": "engine",
        "image": "engine:latest",
        "resources": {"limits": {GPU_RESOURCE: str(gpus)}},
    }
    template = {"spec": {"containers": [container]}}
    return {
        "apiVersion": leaderworkerset.API_VERSION,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "leaderWorkerTemplate": {
                "size": size,
                "leaderTemplate": template,
                "workerTemplate": template,
            },
        },
    }


def sets_path(namespace: str) -> str:
    return f"/apis/{leaderworkerset.API_VERSION}/namespaces/{namespace}/leaderworkersets"


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def test_groups_run_on_gpu_nodes(
    lws_cluster: Cluster, client: Client, namespace: str
) -> None:
    await client.create(sets_path(namespace), group_set("engine", replicas=2, size=2))

    async def two_groups_ready() -> bool:
        current = await client.get(f"{sets_path(namespace)}/engine")
        return bool(current.get("status", {}).get("readyReplicas") == 2)

    await eventually(two_groups_ready, timeout=120)

    # upstream pkg/controllers/leaderworkerset_controller.go: one leader StatefulSet named
    # after the set with a pod per group, and per group a worker StatefulSet of size - 1.
    apps = f"/apis/apps/v1/namespaces/{namespace}/statefulsets"
    sets = {s["metadata"]["name"]: s for s in (await client.get(apps))["items"]}
    assert sorted(sets) == ["engine", "engine-0", "engine-1"]
    assert sets["engine"]["spec"]["replicas"] == 2
    assert [sets[f"engine-{g}"]["spec"]["replicas"] for g in (0, 1)] == [1, 1]

    pods = (
        await client.get(
            f"/api/v1/namespaces/{namespace}/pods", query={"labelSelector": f"{SET_NAME}=engine"}
        )
    )["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == [
        "engine-0",
        "engine-0-1",
        "engine-1",
        "engine-1-1",
    ]
    nodes = {n["metadata"]["name"]: n for n in (await client.get("/api/v1/nodes"))["items"]}
    for pod in pods:
        assert is_ready(pod), pod["metadata"]["name"]
        node = nodes[pod["spec"]["nodeName"]]
        assert int(node["status"]["allocatable"].get(GPU_RESOURCE, "0")) >= 1
    # The pod webhook labels each pod (upstream pkg/webhooks/pod_webhook.go) and tells the
    # workers their leader's address (upstream pkg/utils/pod/pod_utils.go).
    by_name = {p["metadata"]["name"]: p for p in pods}
    assert by_name["engine-1"]["metadata"]["labels"][GROUP_INDEX] == "1"
    worker = by_name["engine-1-1"]
    assert worker["metadata"]["labels"][WORKER_INDEX] == "1"
    env = {e["name"]: e.get("value") for e in worker["spec"]["containers"][0].get("env", [])}
    assert env[LEADER_ADDRESS] == f"engine-1.engine.{namespace}"

    await client.delete(f"{sets_path(namespace)}/engine")


async def test_the_webhooks_default_and_validate(
    lws_cluster: Cluster, client: Client, namespace: str
) -> None:
    created = await client.create(sets_path(namespace), group_set("defaulted", replicas=0, size=3))
    # upstream pkg/webhooks/leaderworkerset_webhook.go Default(): not in the CRD's schema
    assert created["spec"]["networkConfig"] == {"subdomainPolicy": "Shared"}
    assert created["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxUnavailable"] == 1

    with pytest.raises(ApiError) as refused:
        await client.create(sets_path(namespace), group_set("no-pods", replicas=1, size=0))
    # upstream pkg/webhooks/leaderworkerset_webhook.go generalValidate()
    assert 'admission webhook "vleaderworkerset.kb.io" denied' in refused.value.message
    assert "size must be equal or greater than 1" in refused.value.message

    # A valid object name, but not the DNS-1035 label its headless Service needs.
    with pytest.raises(ApiError) as misnamed:
        await client.create(sets_path(namespace), group_set("1engine", replicas=1, size=1))
    assert "DNS-1035 label" in misnamed.value.message
