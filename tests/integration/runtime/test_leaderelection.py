"""Leader election against a real API server, with short timings."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from ome.client import Client
from ome.runtime.leaderelection import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import StallableClient

pytestmark = pytest.mark.integration

FAST = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.5}


def settings(namespace: str, identity: str, **overrides: Any) -> LeaderElectionConfig:
    return LeaderElectionConfig(
        name="ome-test", namespace=namespace, identity=identity, **(FAST | overrides)
    )


async def lead_forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


async def lease(client: Client, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = await client.get(
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/ome-test"
    )
    return found


async def test_one_leader_and_a_fast_handover_on_release(
    cluster: Cluster, client: Client, namespace: str
) -> None:
    api = await cluster.client()
    electors = {
        name: LeaderElector(api, settings(namespace, name, release_on_cancel=True))
        for name in ("a", "b")
    }
    started = {name: asyncio.Event() for name in electors}
    tasks = {
        name: asyncio.create_task(elector.run(lambda n=name: lead_forever(started[n])))
        for name, elector in electors.items()
    }
    try:
        done, _ = await asyncio.wait(
            [asyncio.create_task(e.wait()) for e in started.values()],
            timeout=10,
            return_when=asyncio.FIRST_COMPLETED,
        )
        assert len(done) == 1
        first = next(n for n, e in started.items() if e.is_set())
        second = "b" if first == "a" else "a"
        assert electors[first].is_leading()
        assert not electors[second].is_leading()
        assert (await lease(client, namespace))["spec"]["holderIdentity"] == first

        handover = time.monotonic()
        tasks[first].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[first]
        await asyncio.wait_for(started[second].wait(), timeout=10)
        elapsed = time.monotonic() - handover
        print(f"handover after release: {elapsed:.2f}s")
        # Released: the follower takes over at its next retry, not after lease expiry.
        assert elapsed < FAST["lease_duration"]
        record = (await lease(client, namespace))["spec"]
        assert record["holderIdentity"] == second
        assert record["leaseTransitions"] >= 1
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await api.close()


async def test_a_leader_that_cannot_renew_stops_leading(cluster: Cluster, namespace: str) -> None:
    api = StallableClient((await cluster.client()).configuration)
    elector = LeaderElector(api, settings(namespace, "stuck"))
    started = asyncio.Event()
    task = asyncio.create_task(elector.run(lambda: lead_forever(started)))
    try:
        await asyncio.wait_for(started.wait(), timeout=10)
        assert elector.health() is None
        api.stalled = True
        stalled_at = time.monotonic()
        # It gives up the moment its last renewal is older than the renew deadline, when
        # is_leading() turns False (and /healthz would fail, were the process to go on).
        with pytest.raises(LeaderElectionLost):
            await asyncio.wait_for(task, timeout=10)
        assert not elector.is_leading()
        lost_after = time.monotonic() - stalled_at
        print(f"leadership dropped {lost_after:.2f}s after the API stalled")
        assert lost_after < FAST["lease_duration"]  # before anyone else may take over
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        api.stalled = False
        await api.close()


async def test_a_leader_paused_past_its_renew_deadline_gives_up_on_resuming(
    cluster: Cluster, namespace: str
) -> None:
    """As after SIGSTOP/SIGCONT: the local clock jumps past the renew deadline. The
    process is fenced at once (is_leading is False), so it must not go on as leader, even
    where its lease could still be renewed; it used to try for another whole deadline
    while its controllers failed every write."""
    api = await cluster.client()
    paused = [0.0]
    elector = LeaderElector(
        api, settings(namespace, "sleeper"), clock=lambda: time.monotonic() + paused[0]
    )
    started = asyncio.Event()
    task = asyncio.create_task(elector.run(lambda: lead_forever(started)))
    try:
        await asyncio.wait_for(started.wait(), timeout=10)
        assert elector.is_leading()
        paused[0] = FAST["renew_deadline"] + 0.5  # still within the lease duration
        assert not elector.is_leading()
        with pytest.raises(LeaderElectionLost):
            await asyncio.wait_for(task, timeout=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()


async def test_a_follower_takes_an_expired_lease(cluster: Cluster, namespace: str) -> None:
    api = await cluster.client()
    try:
        spec = {"holderIdentity": "gone", "leaseDurationSeconds": 2, "leaseTransitions": 4}
        await api.create(
            f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
            {"metadata": {"name": "ome-test"}, "spec": spec},
        )
        elector = LeaderElector(api, settings(namespace, "heir"))
        taken = time.monotonic()
        started = asyncio.Event()
        task = asyncio.create_task(elector.run(lambda: lead_forever(started)))
        await asyncio.wait_for(started.wait(), timeout=15)
        waited = time.monotonic() - taken
        # Expiry is measured locally from first sight: never sooner than the duration.
        assert waited >= 2.0
        record = (await lease(api, namespace))["spec"]
        assert (record["holderIdentity"], record["leaseTransitions"]) == ("heir", 5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await api.close()
