"""``ome run`` as a real process against the session control plane and its fake GPU nodes.

Proven here:

- A SIGKILL while the operator is creating the children of 100 InferenceServices loses
  nothing: a fresh process converges every service to Ready, with exactly the expected
  children each, each controlled by its own service (by UID), none orphaned, and the
  finalizer on every service.
- Two replicas with leader election: one holds the Lease and does all the reconciling
  (the other's /metrics show none), ``leader_election_master_status`` says which is which,
  a SIGKILLed leader is replaced by the other, which then serves new services, and a
  SIGTERMed leader exits 0 and releases the Lease.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import Client, NotFound
from ome.controllers.inferenceservice import FINALIZER
from ome.controllers.kinds import CHILD_KINDS, DEPLOYMENT, INFERENCESERVICE
from ome.testing.pytest_plugin import Cluster
from ome.testing.serviceaccount import MANAGER_ACCOUNT
from tests.integration.helpers import eventually
from tests.integration.operator.support import (
    LEASE_NAME,
    ROOT,
    Operator,
    catalogue,
    create_all,
    create_namespace,
    delete_services,
    is_ready,
    operators,
    service,
)

pytestmark = pytest.mark.integration

SERVICES = 100
OPERATOR_NAMESPACE = "ome"
LABEL = "ome.io/inferenceservice"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def crds(cluster: Cluster) -> Cluster:
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    return cluster


@pytest_asyncio.fixture(loop_scope="session")
async def operator_kubeconfig(crds: Cluster, client: Client, tmp_path: Path) -> Path:
    """As in the Deployment: the operator's ServiceAccount under the shipped RBAC, its own
    namespace ``ome`` (where that RBAC grants the Lease)."""
    await create_namespace(client, OPERATOR_NAMESPACE)
    return await crds.service_account_kubeconfig(MANAGER_ACCOUNT, tmp_path / "kubeconfig")


def lease_path(namespace: str) -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE_NAME}"


async def lease(client: Client, namespace: str) -> dict[str, Any] | None:
    try:
        spec: dict[str, Any] = (await client.get(lease_path(namespace)))["spec"]
    except NotFound:
        return None
    return spec


async def count_ready(client: Client, namespace: str) -> int:
    services = await (await client.resource(INFERENCESERVICE)).list(namespace)
    return sum(1 for s in services if is_ready(s))


async def children(client: Client, namespace: str) -> list[dict[str, Any]]:
    """Every object of a child kind carrying the InferenceService label."""
    found: list[dict[str, Any]] = []
    for kind in CHILD_KINDS:
        for obj in await (await client.resource(kind)).list(namespace, label_selector=LABEL):
            found.append({**obj, "kind": kind.kind})
    return found


def expected_children(name: str) -> Counter[tuple[str, str]]:
    """An engine-only service in RawDeployment mode, no Ingress (upstream's shipped
    config): its modelconfig, the engine's Deployment, Service, HPA and PDB, and the
    external Service named after it."""
    engine = f"{name}-engine"
    return Counter(
        [
            ("ConfigMap", f"modelconfig-{name}"),
            ("Deployment", engine),
            ("Service", engine),
            ("HorizontalPodAutoscaler", engine),
            ("PodDisruptionBudget", engine),
            ("Service", name),
        ]
    )


def controller_uid(obj: dict[str, Any]) -> str | None:
    for owner in obj["metadata"].get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner["uid"])
    return None


@pytest.mark.timeout(600)
async def test_kill_during_reconcile_of_100_services_then_restart_converges(
    crds: Cluster, client: Client, namespace: str, operator_kubeconfig: Path, tmp_path: Path
) -> None:
    model_name = f"tiny-{namespace}"
    deployments = await client.resource(DEPLOYMENT)
    services = await client.resource(INFERENCESERVICE)
    first = Operator(
        operator_kubeconfig, OPERATOR_NAMESPACE, tmp_path / "first.log", leader_elect=False
    )
    second = Operator(
        operator_kubeconfig, OPERATOR_NAMESPACE, tmp_path / "second.log", leader_elect=False
    )
    async with catalogue(client, model_name, namespace), operators(first, second):
        names = [f"svc-{i:03d}" for i in range(SERVICES)]
        await create_all(client, [service(n, namespace, model_name) for n in names])

        first.start()

        async def some_children() -> bool:
            assert first.alive(), "the first operator exited"
            return len(await deployments.list(namespace, label_selector=LABEL)) >= 10

        await eventually(some_children, timeout=120)
        first.kill()
        at_kill = len(await deployments.list(namespace, label_selector=LABEL))
        ready_at_kill = await count_ready(client, namespace)
        print(f"killed with {at_kill} Deployments and {ready_at_kill} services Ready")
        assert at_kill < SERVICES, "every Deployment existed already: not killed mid-reconcile"

        second.start()

        async def all_ready() -> bool:
            assert second.alive(), "the second operator exited"
            return await count_ready(client, namespace) == SERVICES

        await eventually(all_ready, timeout=420)

        current = {s["metadata"]["name"]: s for s in await services.list(namespace)}
        assert sorted(current) == names
        uids = {s["metadata"]["uid"]: n for n, s in current.items()}
        for name, obj in current.items():
            assert FINALIZER in (obj["metadata"].get("finalizers") or []), name

        found = await children(client, namespace)
        orphans = [
            f"{c['kind']}/{c['metadata']['name']}"
            for c in found
            if uids.get(controller_uid(c) or "") != c["metadata"]["labels"][LABEL]
        ]
        assert not orphans, f"children without their service as controller: {orphans}"
        per_service: dict[str, Counter[tuple[str, str]]] = {n: Counter() for n in names}
        for child in found:
            meta = child["metadata"]
            per_service[meta["labels"][LABEL]][(child["kind"], meta["name"])] += 1
        for name in names:
            assert per_service[name] == expected_children(name), name

        await delete_services(client, namespace)

        async def all_gone() -> bool:
            return not await services.list(namespace)

        await eventually(all_gone, timeout=120)
        assert await second.terminate(timeout=60) == 0


@pytest.mark.timeout(420)
async def test_two_replicas_only_the_leader_reconciles_and_failover_works(
    crds: Cluster, client: Client, namespace: str, operator_kubeconfig: Path, tmp_path: Path
) -> None:
    model_name = f"tiny-{namespace}"
    services = await client.resource(INFERENCESERVICE)
    replicas = [
        Operator(operator_kubeconfig, OPERATOR_NAMESPACE, tmp_path / f"{i}.log", leader_elect=True)
        for i in ("a", "b")
    ]
    async with catalogue(client, model_name, namespace), operators(*replicas):
        for replica in replicas:
            replica.start()

        async def one_leads() -> bool:
            for replica in replicas:
                assert replica.alive(), "a replica exited"
            states = [await r.leading() for r in replicas]
            held = await lease(client, OPERATOR_NAMESPACE)
            return sorted(states, key=str) == [0.0, 1.0] and bool(held and held["holderIdentity"])

        await eventually(one_leads, timeout=60)
        leader, follower = (
            replicas if await replicas[0].leading() == 1.0 else list(reversed(replicas))
        )
        held = await lease(client, OPERATOR_NAMESPACE)
        assert held is not None
        first_holder = held["holderIdentity"]
        # Distinct identities: the holder is named in the leader's log only.
        assert first_holder in leader.log.read_text()
        assert first_holder not in follower.log.read_text()

        async def ready(names: list[str]) -> bool:
            current = [await services.get(n, namespace) for n in names]
            return all(is_ready(s) for s in current)

        names = [f"svc-{i}" for i in range(3)]
        await create_all(client, [service(n, namespace, model_name) for n in names])
        await eventually(lambda: ready(names), timeout=120)

        assert await leader.reconciles() >= len(names)
        assert await follower.reconciles() == 0
        assert await leader.leading() == 1.0
        assert await follower.leading() == 0.0

        leader.kill()

        async def taken_over() -> bool:
            assert follower.alive(), "the follower exited"
            held = await lease(client, OPERATOR_NAMESPACE)
            holder = held["holderIdentity"] if held else ""
            return holder not in ("", first_holder) and await follower.leading() == 1.0

        await eventually(taken_over, timeout=40)
        held = await lease(client, OPERATOR_NAMESPACE)
        assert held is not None
        assert held["holderIdentity"] in follower.log.read_text()

        await create_all(client, [service("after-failover", namespace, model_name)])
        await eventually(lambda: ready(["after-failover"]), timeout=120)
        assert await follower.reconciles() >= 1

        await delete_services(client, namespace)

        async def all_gone() -> bool:
            return not await services.list(namespace)

        await eventually(all_gone, timeout=60)

        assert await follower.terminate(timeout=60) == 0
        released = await lease(client, OPERATOR_NAMESPACE)
        assert released is not None
        assert released["holderIdentity"] in ("", None)
        assert released["leaseDurationSeconds"] == 1
