"""The control plane behaves like Kubernetes: CRDs, watches, garbage collection,
namespace deletion and GPU scheduling onto fake nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ome.client import Client, Forbidden, NotFound, load_configuration
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.ome.io"},
    "spec": {
        "group": "test.ome.io",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer"}},
                            }
                        },
                    }
                },
            }
        ],
    },
}


async def gone(client: Client, path: str) -> bool:
    try:
        await client.get(path)
    except NotFound:
        return True
    return False


def configmap(name: str, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **metadata}}


async def test_crd_install_create_list_watch(
    cluster: Cluster, client: Client, namespace: str, tmp_path: Path
) -> None:
    crd_file = tmp_path / "widget.yaml"
    crd_file.write_text(json.dumps(WIDGET_CRD))
    assert await cluster.install_crds([crd_file]) == ["widgets.test.ome.io"]

    base = f"/apis/test.ome.io/v1/namespaces/{namespace}/widgets"
    listing = await client.get(base)
    start = listing["metadata"]["resourceVersion"]
    for i in range(3):
        await client.create(
            base,
            {
                "apiVersion": "test.ome.io/v1",
                "kind": "Widget",
                "metadata": {"name": f"w{i}"},
                "spec": {"size": i},
            },
        )
    names = [item["metadata"]["name"] for item in (await client.get(base))["items"]]
    assert names == ["w0", "w1", "w2"]

    # A watch from before the creates replays them; the server closes it after 1 s.
    query = {"watch": True, "resourceVersion": start, "timeoutSeconds": 1}
    async with client.stream(base, query=query) as stream:
        events = [(e["type"], e["object"]["metadata"]["name"]) async for e in stream]
    assert events == [("ADDED", "w0"), ("ADDED", "w1"), ("ADDED", "w2")]


async def test_garbage_collector_deletes_dependents(client: Client, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    owner = await client.create(base, configmap("owner"))
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    await client.create(base, configmap("dependent", ownerReferences=[reference]))
    await client.delete(f"{base}/owner", query={"propagationPolicy": "Background"})
    await eventually(lambda: gone(client, f"{base}/dependent"))


async def test_deleted_namespace_disappears(client: Client) -> None:
    await client.create("/api/v1/namespaces", {"metadata": {"name": "ome-doomed"}})
    await client.create("/api/v1/namespaces/ome-doomed/configmaps", configmap("content"))
    await client.delete("/api/v1/namespaces/ome-doomed")
    await eventually(lambda: gone(client, "/api/v1/namespaces/ome-doomed"))


def gpu_container(gpus: int) -> dict[str, Any]:
    return {
        "name": "server",
        "image": "registry.invalid/serving:1",
        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
    }


async def test_gpu_deployment_runs_on_a_fake_gpu_node(client: Client, namespace: str) -> None:
    labels = {"app": "gpu-one"}
    await client.create(
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "metadata": {"name": "gpu-one"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [gpu_container(1)]},
                },
            },
        },
    )

    async def available() -> bool:
        deployment = await client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/gpu-one")
        return deployment.get("status", {}).get("availableReplicas") == 1

    await eventually(available)
    pods = (await client.get(f"/api/v1/namespaces/{namespace}/pods"))["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    node = await client.get(f"/api/v1/nodes/{pods[0]['spec']['nodeName']}")
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"


async def test_pod_asking_for_nine_gpus_is_unschedulable(client: Client, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods"
    await client.create(
        path, {"metadata": {"name": "too-big"}, "spec": {"containers": [gpu_container(9)]}}
    )

    async def unschedulable() -> bool:
        pod = await client.get(f"{path}/too-big")
        conditions = pod.get("status", {}).get("conditions") or []
        return any(
            c["type"] == "PodScheduled"
            and c["status"] == "False"
            and c.get("reason") == "Unschedulable"
            for c in conditions
        )

    await eventually(unschedulable)
    pod = await client.get(f"{path}/too-big")
    assert pod["status"]["phase"] == "Pending"
    assert "nvidia.com/gpu" in next(
        c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"
    )


async def test_user_kubeconfig_authenticates_as_that_user(cluster: Cluster) -> None:
    if cluster.control_plane is None:
        pytest.skip("issuing client certificates needs the embedded control plane's CA")
    path = cluster.control_plane.user_kubeconfig("alice", groups=["team-a"])
    async with Client(await load_configuration(path)) as alice:
        review = await alice.create(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert review["status"]["userInfo"]["username"] == "alice"
        assert "team-a" in review["status"]["userInfo"]["groups"]
        with pytest.raises(Forbidden):  # RBAC grants alice nothing
            await alice.get("/api/v1/namespaces/default/configmaps")
