"""The model agents' faults. Each creates a ClusterBaseModel of its own (a made-up model
in the suite's storage, eligible on every node), injects its fault into the storage, the
disk or the cluster, waits until the failure shows, heals it and waits until the model is
Ready on every eligible node; the invariants of :mod:`chaos.agent_invariants` are checked
throughout, and what they find goes to :attr:`chaos.agents.Agents.violations`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.agent_invariants import (
    FAILED,
    copy_problems,
    entries,
    failure_seen,
    ready_problems,
    retry_after_problems,
)
from chaos.agents import Agent, Agents
from chaos.invariants import ProcessSample, leak_problems
from chaos.storage import WEIGHTS
from chaos.system import FIELD_MANAGER, System, cluster_base_model
from ome.agent.status import ModelRef, configmap_key
from ome.client import GVK, ApiError, NotFound
from ome.testing.nodes import FakeNode
from ome.testing.serviceaccount import OPERATOR_NAMESPACE

MODEL = GVK("ome.io", "v1beta1", "ClusterBaseModel")
NODE = GVK("", "v1", "Node")
CONFIGMAP = GVK("", "v1", "ConfigMap")
FAILURE_TIMEOUT = 90.0
RECOVERY_TIMEOUT = 180.0
RETRY_AFTER = 5
DISK_BYTES = 12 << 20
"""The models directory's filesystem while the disk is full: half the model's size."""
DOOMED = "chaos-doomed"


@dataclass
class Watch:
    """What the observer saw of one model while its fault lasted."""

    key: str
    repo: str
    served: dict[str, bytes]
    failures: list[str] = field(default_factory=list)
    """Failed messages of the nodes' entries, in the order seen."""
    problems: list[str] = field(default_factory=list)
    digests: dict[tuple[str, int, int], bytes] = field(default_factory=dict)
    """(path, size, mtime) -> sha256 of files already hashed."""


async def _observe(system: System, agents: Agents, watch: Watch) -> None:
    """Every half second: the nodes' entries (Failed messages kept) and every model
    directory in place checked to be a complete copy."""
    while True:
        with contextlib.suppress(ApiError, OSError):
            for node, entry in (await _entries(system, watch.key)).items():
                said = f"{node}: {entry.message}"
                if entry.status == FAILED and said not in watch.failures:
                    watch.failures.append(said)
        for agent in list(agents.agents.values()):
            directory = agent.models_root / watch.repo
            found = await asyncio.to_thread(_digests, directory, watch.digests)
            for problem in copy_problems(agent.node, found, watch.served):
                if problem not in watch.problems:
                    watch.problems.append(problem)
        await asyncio.sleep(0.5)


def _digests(
    directory: Path, known: dict[tuple[str, int, int], bytes] | None = None
) -> dict[str, bytes] | None:
    """Path -> sha256 of the files in ``directory`` (None: no directory); a file of a
    size and mtime in ``known`` is not read again."""
    if not directory.is_dir():
        return None
    known = {} if known is None else known
    found = {}
    with contextlib.suppress(OSError):  # renamed or removed while we look
        for path in directory.rglob("*"):
            if path.is_file():
                stat = path.stat()
                seen = (str(path), stat.st_size, stat.st_mtime_ns)
                if seen not in known:
                    known[seen] = hashlib.sha256(path.read_bytes()).digest()
                found[path.relative_to(directory).as_posix()] = known[seen]
    return found


async def _entries(system: System, key: str) -> dict[str, Any]:
    configmaps = await system.client.resource(CONFIGMAP)
    return entries(await configmaps.list(OPERATOR_NAMESPACE), key)


async def _until(check: Callable[[], Any], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ApiError, OSError):
            if await check():
                return True
        await asyncio.sleep(0.5)
    return False


def _model(name: str, repo: str) -> dict[str, Any]:
    return cluster_base_model(name, {"storageUri": f"hf://{repo}"}, "1M")


@dataclass
class Fault:
    """One fault: ``inject`` puts it in place before the model is created, ``heal`` ends
    it once a node reported the failure (at once when ``words`` is empty); ``eligible``
    names the nodes the model must end Ready on."""

    repo: str
    words: Sequence[str]
    """A Failed message naming the cause contains one of these; empty: the fault need
    not fail the model (a resumed download)."""
    inject: Callable[[Agents], Any]
    heal: Callable[[Agents], Any]
    eligible: Callable[[Agents], set[str]] = lambda agents: set(agents.agents)


async def _run_fault(system: System, name: str, fault: Fault) -> list[str]:
    agents = system.agents
    assert agents is not None, "the system runs no model agents"
    served = agents.storage.add_model(fault.repo)
    key = configmap_key(ModelRef(name))
    watch = Watch(key, fault.repo, served)
    models = await system.client.resource(MODEL)
    observer = asyncio.create_task(_observe(system, agents, watch))
    outcome: list[str] = []
    try:
        await fault.inject(agents)
        await models.apply(_model(name, fault.repo), field_manager=FIELD_MANAGER, force=True)
        if fault.words:

            async def seen() -> bool:
                return failure_seen(watch.failures, fault.words) is not None

            if not await _until(seen, FAILURE_TIMEOUT):
                agents.violations.append(
                    f"{name}: no node reported the model Failed naming the cause "
                    f"({' or '.join(fault.words)}) within {FAILURE_TIMEOUT:.0f} s; "
                    f"seen: {watch.failures or 'nothing'}"
                )
            else:
                seen_first = str(failure_seen(watch.failures, fault.words))
                outcome.append(f"failure seen: {_shortened(seen_first)}")
        await fault.heal(agents)
        healed = time.monotonic()
        eligible = fault.eligible(agents)

        async def ready() -> bool:
            model = await models.get(name)
            return not ready_problems(model, await _entries(system, key), eligible)

        if await _until(ready, RECOVERY_TIMEOUT):
            outcome.insert(0, f"recovered in {time.monotonic() - healed:.1f} s")
        else:
            with contextlib.suppress(ApiError, OSError):
                model = await models.get(name)
                left = ready_problems(model, await _entries(system, key), eligible)
                agents.violations.append(
                    f"{name}: not Ready everywhere {RECOVERY_TIMEOUT:.0f} s after the "
                    f"fault ended: {'; '.join(left)}"
                )
    finally:
        observer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await observer
    for node in eligible:
        found = await asyncio.to_thread(_digests, agents.agents[node].models_root / fault.repo)
        if found is None:
            agents.violations.append(f"{name}: {node} has no copy of the model")
        watch.problems += copy_problems(node, found, served)
    agents.violations += [f"{name}: {problem}" for problem in watch.problems]
    peak = await _sample(agents)
    outcome.append(f"agents' RSS up to {peak >> 20} MiB")
    await _remove(system, agents, name, fault.repo)
    agents.storage.remove_model(fault.repo)
    return outcome


def _shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _sample(agents: Agents) -> int:
    """Each agent's RSS and asyncio tasks at a quiet moment (growth is a violation); the
    largest RSS."""
    peak = 0
    for agent in agents.agents.values():
        if agent.alive():
            tasks = await agent.metric("python_asyncio_tasks")
            if tasks is None:  # not serving yet: its start is no baseline
                continue
            peak = max(peak, agent.rss_bytes())
            name = f"agent {agent.node}"
            agents.samples.append(
                ProcessSample(name, agent.pid, agent.rss_bytes(), int(tasks), agent.fds())
            )
    for problem in leak_problems(agents.samples):
        if problem not in agents.leaks:
            agents.leaks.add(problem)
            agents.violations.append(problem)
    return peak


async def _remove(system: System, agents: Agents, name: str, repo: str) -> None:
    """The model deleted and its files gone from every node, ready for the next one."""
    models = await system.client.resource(MODEL)
    with contextlib.suppress(NotFound):
        await models.delete(name)

    async def gone() -> bool:
        on_disk = [a.models_root / repo for a in agents.agents.values() if a.alive()]
        if any(path.exists() for path in on_disk):
            return False
        try:
            await models.get(name)
        except NotFound:
            return True
        return False

    if not await _until(gone, 60.0):
        agents.violations.append(f"{name}: not removed from the nodes within 60 s of its deletion")


def _noop(_: Agents) -> Any:
    return asyncio.sleep(0)


async def agent_cut(system: System) -> list[str]:
    """The weights' connection cut halfway, once per node: the download resumes."""

    agents = system.agents
    assert agents is not None
    start = {node: len(hub.answers) for node, hub in agents.storage.hubs.items()}

    async def inject(agents: Agents) -> None:
        agents.storage.cut(WEIGHTS, 1)

    fault = Fault("chaos/agent-cut", (), inject, _noop)
    outcome = await _run_fault(system, "chaos-agent-cut", fault)
    for node in agents.agents:
        hub = agents.storage.hubs[node]
        if not any(status == 206 for _, status in hub.answers[start[node] :]):
            agents.violations.append(f"chaos-agent-cut: {node} fetched the cut file again whole")
    return ["connection cut mid-file on every node, resumed", *outcome]


async def agent_5xx(system: System) -> list[str]:
    async def inject(agents: Agents) -> None:
        agents.storage.refuse(500)

    async def heal(agents: Agents) -> None:
        agents.storage.heal()

    fault = Fault("chaos/agent-5xx", ("HTTP 500",), inject, heal)
    return ["storage answering 500", *await _run_fault(system, "chaos-agent-5xx", fault)]


async def agent_429(system: System) -> list[str]:
    """429 with Retry-After: no agent may come back sooner than it says."""
    agents = system.agents
    assert agents is not None
    start = {node: len(hub.answers) for node, hub in agents.storage.hubs.items()}

    async def inject(agents: Agents) -> None:
        agents.storage.refuse(429, RETRY_AFTER)

    async def heal(agents: Agents) -> None:
        # Long enough for two refusals, and the wait between them, on every node.
        await asyncio.sleep(2 * RETRY_AFTER)
        agents.storage.heal()

    fault = Fault("chaos/agent-429", ("HTTP 429",), inject, heal)
    outcome = await _run_fault(system, "chaos-agent-429", fault)
    for node, hub in agents.storage.hubs.items():
        answers = hub.answers[start.get(node, 0) :]
        agents.violations += retry_after_problems(node, answers, RETRY_AFTER)
    return [f"storage answering 429 with Retry-After: {RETRY_AFTER}", *outcome]


async def agent_corrupt(system: System) -> list[str]:
    async def inject(agents: Agents) -> None:
        agents.storage.corrupt(WEIGHTS)

    async def heal(agents: Agents) -> None:
        agents.storage.heal()

    fault = Fault("chaos/agent-corrupt", ("checksum",), inject, heal)
    outcome = await _run_fault(system, "chaos-agent-corrupt", fault)
    return ["weights served corrupted (right size, wrong bytes)", *outcome]


def _mount(*args: str) -> None:
    """``mount`` (the suite runs as root), raising RuntimeError naming why it failed."""
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"mount {' '.join(args)}: {done.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=False, capture_output=True)


async def agent_disk_full(system: System) -> list[str]:
    """The models directory on a filesystem half the model's size, then grown. Mounting
    takes root: elsewhere the scenario says it did not run, and checks nothing."""
    agents = system.agents
    assert agents is not None
    if os.geteuid() != 0:
        return ["not run: mounting a small filesystem needs root"]
    repo = "full/agent-disk-full"
    mounts = [a.models_root / "full" for a in agents.agents.values()]

    async def inject(agents: Agents) -> None:
        for path in mounts:
            path.mkdir(parents=True, exist_ok=True)
            size = f"size={DISK_BYTES}"
            await asyncio.to_thread(_mount, "-t", "tmpfs", "-o", size, "tmpfs", str(path))

    async def heal(agents: Agents) -> None:
        for path in mounts:
            await asyncio.to_thread(_mount, "-o", "remount,size=64m", str(path))

    try:
        fault = Fault(repo, ("No space left",), inject, heal)
        outcome = await _run_fault(system, "chaos-agent-disk-full", fault)
    finally:
        for path in mounts:
            await asyncio.to_thread(_umount, path)
    return [f"models directory on a {DISK_BYTES >> 20} MiB filesystem, then 64 MiB", *outcome]


async def agent_node_deleted(system: System) -> list[str]:
    """A third node whose agent is downloading (its weights held halfway, the download
    shown in the model's status) is deleted, its agent killed as the node's pods die with
    it: the model must end Ready on the nodes left, its status no longer naming the
    deleted one nor showing its download (recovery: from the deletion until then)."""
    agents = system.agents
    assert agents is not None
    nodes = await system.client.resource(NODE)
    stall = asyncio.Event()
    doomed: list[Agent] = []
    eligible = set(agents.agents)

    async def inject(agents: Agents) -> None:
        await system.plane.add_nodes(system.client, [FakeNode(DOOMED)])
        agent = await agents.add_node(DOOMED)
        agents.storage.hubs[DOOMED].stalls[WEIGHTS] = stall
        doomed.append(agent)

    async def heal(agents: Agents) -> None:
        hub = agents.storage.hubs[DOOMED]

        async def stalled() -> bool:
            return WEIGHTS in hub.stalled

        if not await _until(stalled, FAILURE_TIMEOUT):
            agents.violations.append(f"{DOOMED}: its agent never reached the weights")
        models = await system.client.resource(MODEL)

        async def shown() -> bool:
            # The other nodes are Ready by now: the download shown is the doomed node's.
            model = await models.get("chaos-agent-node-deleted")
            return bool((model.get("status") or {}).get("progress"))

        if not await _until(shown, FAILURE_TIMEOUT):
            agents.violations.append(f"{DOOMED}: its download never showed in the model's status")
        doomed[0].kill()
        await nodes.delete(DOOMED)
        stall.set()
        del agents.agents[DOOMED]
        del agents.storage.hubs[DOOMED]  # its server stays up, with no faults to set

    fault = Fault("chaos/agent-node-deleted", (), inject, heal, lambda _: eligible)
    outcome = await _run_fault(system, "chaos-agent-node-deleted", fault)
    return [f"node {DOOMED} deleted mid-download, its agent killed", *outcome]


AGENT_SCENARIOS = {
    "agent-cut": agent_cut,
    "agent-5xx": agent_5xx,
    "agent-429": agent_429,
    "agent-corrupt": agent_corrupt,
    "agent-disk-full": agent_disk_full,
    "agent-node-deleted": agent_node_deleted,
}
