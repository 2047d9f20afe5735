"""The client against a real API server: mapping, CRUD, patches, apply, status, delete."""

from __future__ import annotations

from typing import Any, ClassVar

import pydantic
import pytest

from ome.client import GVK, AlreadyExists, Client, Conflict, Invalid, NotFound, WriteFenced
from ome.testing.pytest_plugin import Cluster

pytestmark = pytest.mark.integration

CONFIGMAP = GVK("", "v1", "ConfigMap")
DEPLOYMENT = GVK("apps", "v1", "Deployment")


class ConfigMap(pydantic.BaseModel):
    """A typed model the way ome.api models are declared."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "ConfigMap"
    model_config = pydantic.ConfigDict(extra="allow")

    metadata: dict[str, Any]
    data: dict[str, str] = {}


def cm(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "data": data}


async def test_mapping_comes_from_discovery(client: Client) -> None:
    deployments = await client.resource(DEPLOYMENT)
    assert (deployments.info.plural, deployments.info.namespaced) == ("deployments", True)
    assert "status" in deployments.info.subresources
    nodes = await client.resource(GVK("", "v1", "Node"))
    assert not nodes.info.namespaced
    with pytest.raises(NotFound, match="is its CRD installed"):
        await client.resource(GVK("example.invalid", "v1", "Nothing"))


async def test_create_get_list_update_delete(client: Client, namespace: str) -> None:
    configmaps = await client.resource(CONFIGMAP)
    created = await configmaps.create(cm("a", namespace, k="1"))
    with pytest.raises(AlreadyExists):
        await configmaps.create(cm("a", namespace))
    assert (await configmaps.get("a", namespace))["data"] == {"k": "1"}
    for i in range(3):
        await configmaps.create(cm(f"b{i}", namespace))
    names = [c["metadata"]["name"] for c in await configmaps.list(namespace)]
    assert {"a", "b0", "b1", "b2"} <= set(names)

    created["data"] = {"k": "2"}
    updated = await configmaps.update(created)
    created["data"] = {"k": "stale"}
    with pytest.raises(Conflict):  # carries the old resourceVersion
        await configmaps.update(created)

    with pytest.raises(Conflict):
        await configmaps.delete("a", namespace, preconditions={"uid": "not-the-uid"})
    await configmaps.delete("a", namespace, preconditions={"uid": updated["metadata"]["uid"]})
    with pytest.raises(NotFound):
        await configmaps.get("a", namespace)


async def test_typed_models_in_and_out(client: Client, namespace: str) -> None:
    configmaps = await client.resource(ConfigMap)
    made = await configmaps.create(
        ConfigMap(metadata={"name": "typed", "namespace": namespace}, data={"x": "y"})
    )
    assert isinstance(made, ConfigMap)
    assert made.data == {"x": "y"}
    listed = await configmaps.list(namespace)
    assert all(isinstance(item, ConfigMap) for item in listed)


async def test_patch_types(client: Client, namespace: str) -> None:
    deployments = await client.resource(DEPLOYMENT)
    labels = {"app": "p"}
    container = {"name": "main", "image": "registry.invalid/app:1"}
    await deployments.create(
        {
            "metadata": {"name": "p", "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        }
    )
    await deployments.patch("p", {"metadata": {"labels": {"tier": "x"}}}, namespace)
    await deployments.patch(
        "p", [{"op": "replace", "path": "/spec/replicas", "value": 2}], namespace, patch_type="json"
    )
    # Strategic merge keys containers by name: the image changes, the list is not replaced.
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "v2"}]}}}}
    patched = await deployments.patch("p", strategic, namespace, patch_type="strategic")
    assert patched["metadata"]["labels"] == {"tier": "x"}
    assert patched["spec"]["replicas"] == 2
    assert patched["spec"]["template"]["spec"]["containers"][0]["image"] == "v2"
    with pytest.raises(Invalid) as invalid:
        await deployments.patch("p", {"spec": {"replicas": -1}}, namespace)
    field, message = invalid.value.causes[0]
    assert field == "spec.replicas"
    assert "must be greater than or equal to 0" in message


async def test_apply_owns_fields_and_conflicts_without_force(
    client: Client, namespace: str
) -> None:
    configmaps = await client.resource(CONFIGMAP)
    await configmaps.apply(cm("owned", namespace, a="1"), field_manager="first")
    await configmaps.apply(cm("owned", namespace, b="2"), field_manager="second")
    with pytest.raises(Conflict):
        await configmaps.apply(cm("owned", namespace, a="changed"), field_manager="second")
    forced = await configmaps.apply(
        cm("owned", namespace, a="changed", b="2"), field_manager="second", force=True
    )
    assert forced["data"] == {"a": "changed", "b": "2"}


async def test_status_subresource(client: Client, namespace: str) -> None:
    deployments = await client.resource(DEPLOYMENT)
    labels = {"app": "s"}
    body = {
        "metadata": {"name": "s", "namespace": namespace},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]},
            },
        },
    }
    await deployments.create(body)
    status = {"status": {"conditions": [{"type": "Custom", "status": "True"}]}}
    patched = await deployments.patch_status("s", status, namespace)
    assert any(c["type"] == "Custom" for c in patched["status"]["conditions"])


async def test_write_guard_fences_writes_but_not_reads(cluster: Cluster, namespace: str) -> None:
    fenced = Client((await cluster.client()).configuration, write_guard=lambda: False)
    try:
        configmaps = await fenced.resource(CONFIGMAP)
        await configmaps.list(namespace)
        with pytest.raises(WriteFenced, match="not the leader"):
            await configmaps.create(cm("never", namespace))
    finally:
        await fenced.close()
