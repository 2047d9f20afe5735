"""The builder on a real API server: an owner's scope from discovery, and a watch
through an informer the caller filtered."""

from __future__ import annotations

import pytest

from ome.client import GVK, Client, KubeObject
from ome.runtime import Manager, ManagerOptions, Request, controller_managed_by
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import delete_for_good, eventually

pytestmark = pytest.mark.integration

CLUSTERROLE = GVK("rbac.authorization.k8s.io", "v1", "ClusterRole")
CONFIGMAP = GVK("", "v1", "ConfigMap")
WATCHED = "builder-test/watched"


def configmap(name: str, namespace: str, **metadata: object) -> KubeObject:
    return {"metadata": {"name": name, "namespace": namespace, **metadata}, "data": {}}


async def test_owners_by_discovered_scope_and_filtered_watches(
    cluster: Cluster, client: Client, namespace: str
) -> None:
    """A ConfigMap owned by a ClusterRole wakes the role with no namespace (discovery
    says ClusterRoles are cluster-scoped), and a label-filtered informer given to
    ``watches`` never delivers the ConfigMaps its selector leaves out."""
    seen: list[Request] = []

    async def reconcile(request: Request) -> None:
        seen.append(request)

    options = ManagerOptions(
        namespace=namespace,
        metrics_address="127.0.0.1:0",
        probe_address="127.0.0.1:0",
        handle_signals=False,
    )
    manager = Manager(await cluster.client(), options)
    labelled = manager.informer(CONFIGMAP, label_selector=f"{WATCHED}=yes")
    (
        controller_managed_by(manager)
        .for_(CLUSTERROLE)
        .owns(CONFIGMAP)
        .watches(labelled, lambda obj: (Request("", f"mapped-{obj['metadata']['name']}"),))
        .named("builder-test")
        .complete(reconcile)
    )
    roles = await client.resource(CLUSTERROLE)
    configmaps = await client.resource(CONFIGMAP)
    role_name = f"builder-{namespace}"
    async with manager.running():
        role = await roles.create({"metadata": {"name": role_name}, "rules": []})
        try:
            await eventually(lambda: _seen(seen, Request("", role_name)))
            seen.clear()
            owner = {
                "apiVersion": CLUSTERROLE.api_version,
                "kind": CLUSTERROLE.kind,
                "name": role_name,
                "uid": role["metadata"]["uid"],
                "controller": True,
            }
            await configmaps.create(configmap("owned", namespace, ownerReferences=[owner]))
            await eventually(lambda: _any_named(seen, role_name))
            assert [r for r in seen if r.name == role_name] == [Request("", role_name)]

            await configmaps.create(configmap("left-out", namespace))
            await configmaps.create(configmap("let-in", namespace, labels={WATCHED: "yes"}))
            await eventually(lambda: _seen(seen, Request("", "mapped-let-in")))
            # one watch delivers in order: the left-out one would have come first
            assert Request("", "mapped-left-out") not in seen
        finally:
            await delete_for_good(roles, role_name)


async def _seen(seen: list[Request], request: Request) -> bool:
    return request in seen


async def _any_named(seen: list[Request], name: str) -> bool:
    return any(r.name == name for r in seen)
