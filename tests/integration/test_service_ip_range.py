"""The local control plane's service IP range holds a large catalogue: 300 Services in one
namespace all get a ClusterIP of their own (a /24 held 253)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from ome.client import GVK, Client
from ome.testing.controlplane import SERVICE_CIDR
from ome.testing.pytest_plugin import Cluster

pytestmark = pytest.mark.integration

SERVICES = 300
SERVICE = GVK("", "v1", "Service")
SERVICE_CIDR_KIND = GVK("networking.k8s.io", "v1", "ServiceCIDR")


async def test_three_hundred_services_get_cluster_ips(
    cluster: Cluster, client: Client, namespace: str
) -> None:
    services = await client.resource(SERVICE)
    limit = asyncio.Semaphore(16)

    async def create(index: int) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"svc-{index}", "namespace": namespace},
            "spec": {"ports": [{"port": 80}], "selector": {"app": f"svc-{index}"}},
        }
        async with limit:
            await services.create(body)

    await asyncio.gather(*(create(i) for i in range(SERVICES)))
    listed = await services.list(namespace)
    ips = {s["metadata"]["name"]: s["spec"].get("clusterIP") for s in listed}
    assert len(ips) == SERVICES
    assert all(ips.values()), [name for name, ip in ips.items() if not ip]
    assert len(set(ips.values())) == SERVICES
    if cluster.control_plane is not None:  # the embedded control plane, not an external cluster
        network = ipaddress.ip_network(SERVICE_CIDR)
        assert all(ipaddress.ip_address(ip) in network for ip in ips.values())
        default = await (await client.resource(SERVICE_CIDR_KIND)).get("kubernetes")
        assert default["spec"]["cidrs"] == [SERVICE_CIDR]
