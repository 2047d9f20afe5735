"""The faults, each an async function that injects one, waits for what it must wait
for, heals it, and returns what it did (one line per fault). The runner churns services
around each."""

from __future__ import annotations

import asyncio
import base64
import random
import signal
import time
from collections.abc import Awaitable, Callable

import aiohttp

from chaos import webhook_faults
from chaos.agent_scenarios import AGENT_SCENARIOS
from chaos.system import Replica, System

Scenario = Callable[[System], Awaitable[list[str]]]
TAKEOVER_TIMEOUT = 90.0


async def _leader(system: System) -> Replica:
    deadline = time.monotonic() + TAKEOVER_TIMEOUT
    while time.monotonic() < deadline:
        leader = await system.leader()
        if leader is not None and leader.alive():
            return leader
        await asyncio.sleep(0.5)
    raise RuntimeError(f"no replica led within {TAKEOVER_TIMEOUT:.0f}s")


async def _taken_over(system: System, deposed: str) -> str:
    """Until the lease is held by another process than ``deposed`` (an identity)."""
    deadline = time.monotonic() + TAKEOVER_TIMEOUT
    while time.monotonic() < deadline:
        holder = await system.holder()
        if holder and holder != deposed:
            return holder
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the lease did not change hands within {TAKEOVER_TIMEOUT:.0f}s")


async def steady(system: System) -> list[str]:
    """No fault: the baseline."""
    return []


async def leader_killed(system: System) -> list[str]:
    leader = await _leader(system)
    holder = await system.holder()
    leader.signal(signal.SIGKILL)
    started = time.monotonic()
    await _taken_over(system, holder)
    return [f"SIGKILL {leader.name}; lease taken over in {time.monotonic() - started:.1f} s"]


async def leader_stopped(system: System) -> list[str]:
    """SIGSTOP past the lease's expiry and another's takeover, then SIGCONT: the resumed
    process must write nothing as leader (it should notice and exit)."""
    leader = await _leader(system)
    holder = await system.holder()
    leader.signal(signal.SIGSTOP)
    started = time.monotonic()
    await _taken_over(system, holder)
    taken = time.monotonic() - started
    await asyncio.sleep(3.0)
    leader.signal(signal.SIGCONT)
    return [f"SIGSTOP {leader.name}; lease taken over in {taken:.1f} s; SIGCONT"]


async def leader_partitioned(system: System) -> list[str]:
    """The leader's network only black-holed (what it sent meanwhile is delivered when
    it heals, as TCP retransmissions would be) until another replica leads."""
    leader = await _leader(system)
    holder = await system.holder()
    leader.proxy.blackhole()
    started = time.monotonic()
    try:
        await _taken_over(system, holder)
        taken = time.monotonic() - started
        await asyncio.sleep(5.0)
    finally:
        leader.proxy.heal()
    lasted = time.monotonic() - started
    return [f"partition of {leader.name} for {lasted:.0f} s; taken over in {taken:.1f} s"]


SLOW_LATENCY = 1.5
"""Seconds each chunk of the leader's traffic is held, each way: a request's round trip
takes 3 s or more, a TLS handshake more still, well within the renew deadline."""
SLOW_SECONDS = 20.0
SLOW_DROPS = 4
SLOW_SHARE = 0.3


async def network_slow(system: System) -> list[str]:
    """The leader's network slow and lossy, short of a partition: every chunk delayed,
    and a share of its connections (watches, requests in flight) reset now and then."""
    leader = await _leader(system)
    rng = random.Random(0)
    leader.proxy.delay(SLOW_LATENCY)
    try:
        for _ in range(SLOW_DROPS):
            await asyncio.sleep(SLOW_SECONDS / SLOW_DROPS)
            leader.proxy.drop(SLOW_SHARE, rng)
    finally:
        leader.proxy.heal()
    return [
        f"{leader.name}'s traffic delayed {SLOW_LATENCY:.1f} s a chunk for {SLOW_SECONDS:.0f} s, "
        f"{SLOW_SHARE:.0%} of its connections reset {SLOW_DROPS} times"
    ]


async def apiserver_restarted(system: System) -> list[str]:
    started = time.monotonic()
    await system.plane.restart_component("kube-apiserver")
    return [f"kube-apiserver restarted ({time.monotonic() - started:.1f} s down)"]


async def etcd_restarted(system: System) -> list[str]:
    started = time.monotonic()
    system.plane.kill_component("etcd")
    await asyncio.sleep(3.0)
    await system.plane.restart_component("etcd")
    return [f"etcd SIGKILLed and restarted ({time.monotonic() - started:.1f} s down)"]


async def watches_cut(system: System) -> list[str]:
    """Every replica's connections reset three times, 5 s apart: watches resume from
    their last resourceVersion."""
    for _ in range(3):
        for replica in system.replicas:
            replica.proxy.cut()
        await asyncio.sleep(5.0)
    return ["every replica's connections reset, 3 times"]


async def relist_410(system: System) -> list[str]:
    """etcd compacted to its current revision, then the API server restarted with an
    empty watch cache: every watch resuming from an older resourceVersion is answered
    410 Gone and its informer must list again."""
    base = f"http://127.0.0.1:{system.plane.ports.etcd_client}/v3/kv"
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        key = base64.b64encode(b"/").decode()
        async with session.post(f"{base}/range", json={"key": key, "limit": 1}) as answer:
            revision = int((await answer.json(content_type=None))["header"]["revision"])
        body = {"revision": revision, "physical": True}
        async with session.post(f"{base}/compaction", json=body) as answer:
            answer.raise_for_status()
    await system.plane.restart_component("kube-apiserver")
    return [f"etcd compacted at revision {revision}; kube-apiserver restarted"]


SCENARIOS: dict[str, Scenario] = {
    "steady": steady,
    "leader-killed": leader_killed,
    "leader-stopped": leader_stopped,
    "leader-partitioned": leader_partitioned,
    "network-slow": network_slow,
    "apiserver-restarted": apiserver_restarted,
    "etcd-restarted": etcd_restarted,
    "watches-cut": watches_cut,
    "relist-410": relist_410,
    "webhook-cert-rotated": webhook_faults.webhook_cert_rotated,
    "webhook-down": webhook_faults.webhook_down,
    "bad-objects": webhook_faults.bad_objects,
    **AGENT_SCENARIOS,
}
