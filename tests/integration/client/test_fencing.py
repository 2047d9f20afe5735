"""Writes fenced by the resourceVersion they were made over: the API server refuses a
stale one (a deposed leader's, delivered late) with Conflict, the reason the controllers
retry quietly, and accepts a current one."""

from __future__ import annotations

from typing import Any

import pytest

from ome.client import GVK, Client, Conflict, delete_preconditions, fenced, version_of

pytestmark = pytest.mark.integration

DEPLOYMENT = GVK("apps", "v1", "Deployment")
MANAGER = "ome-test"


def deployment(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]},
            },
        },
    }


async def test_a_write_over_a_stale_version_is_refused(client: Client, namespace: str) -> None:
    deployments = await client.resource(DEPLOYMENT)
    read = await deployments.apply(deployment("d", namespace, 0), field_manager=MANAGER)
    # a newer write (another writer's; the controller manager writes the status too)
    newer = await deployments.apply(
        deployment("d", namespace, 1), field_manager="another", force=True
    )
    assert newer["spec"]["replicas"] == 1

    stale = [
        deployments.apply(
            fenced(deployment("d", namespace, 2), version_of(read)),
            field_manager=MANAGER,
            force=True,
        ),
        deployments.apply_status(
            fenced(
                {**deployment("d", namespace, 0), "status": {"observedGeneration": 9}},
                version_of(read),
            ),
            field_manager=MANAGER,
            force=True,
        ),
        deployments.patch(
            "d", fenced({"metadata": {"labels": {"late": "yes"}}}, version_of(read)), namespace
        ),
        deployments.delete("d", namespace, preconditions=delete_preconditions(read)),
    ]
    for write in stale:
        with pytest.raises(Conflict) as refused:
            await write
        assert refused.value.reason == "Conflict"
    current = await deployments.get("d", namespace)  # still there, as the newer write left it
    assert current["spec"]["replicas"] == 1
    assert (current.get("status") or {}).get("observedGeneration") != 9
    assert "late" not in (current["metadata"].get("labels") or {})
