"""The model agents of the chaos system: one ``ome agent`` process per fake node, as the
DaemonSet runs one per node, each downloading for real from the suite's faulty storage
(:mod:`chaos.storage`) into a models directory of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from chaos.invariants import ProcessSample
from chaos.process import Watched
from chaos.storage import Storage
from ome.testing import ControlPlane
from ome.testing.serviceaccount import OPERATOR_NAMESPACE

AGENT_GROUP = "system:masters"
RETRY_INTERVAL = 2.0
"""Seconds before an agent tries a Failed model again (doubling up to 5 minutes)."""


class Agent(Watched):
    """One ``ome agent`` process for one node."""

    def __init__(self, node: str, root: Path, kubeconfig: Path, hub_url: str) -> None:
        super().__init__()
        self.node = node
        self.models_root = root / "models"
        self.log = root / "agent.log"
        self.command = [
            sys.executable, "-m", "ome.cli.main", "agent",
            "--node-name", node,
            "--models-root", str(self.models_root),
            "--namespace", OPERATOR_NAMESPACE,
            "--kubeconfig", str(kubeconfig),
            "--hf-endpoint", hub_url,
            "--retry-interval", str(RETRY_INTERVAL),
            "--metrics-address", f"127.0.0.1:{self.metrics_port}",
            "--probe-address", "127.0.0.1:0",
            "--progress", "log",
            "--log-format", "console",
        ]  # fmt: skip

    def start(self) -> None:
        self.models_root.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                # As the DaemonSet sets it (manifests/agent/daemonset.yaml).
                env={**os.environ, "PYTHONUNBUFFERED": "1", "MALLOC_ARENA_MAX": "2"},
            )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, as the kubelet stops a pod; SIGKILL if it does not exit in time."""
        if self.process is None or not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a node that vanishes takes its pods with it."""
        if self.process is not None and self.alive():
            self.process.kill()
            self.process.wait()


class Agents:
    """The agents, their storage and their directories under ``workdir/agents``."""

    def __init__(self, workdir: Path, plane: ControlPlane, nodes: list[str]) -> None:
        self.workdir = workdir / "agents"
        self.plane = plane
        self.storage = Storage.for_nodes(nodes)
        self.agents: dict[str, Agent] = {}
        self.violations: list[str] = []
        """Found by the agent scenarios; the runner adds them to the scenario's row."""
        self.samples: list[ProcessSample] = []
        """The agents' RSS and tasks after each scenario, for the leak check."""
        self.leaks: set[str] = set()
        """Leak problems already reported."""
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        await self.storage.start(self._stack)
        for node in list(self.storage.hubs):
            self.start_agent(node)

    def start_agent(self, node: str) -> Agent:
        kubeconfig = self.plane.user_kubeconfig(f"chaos-agent-{node}", groups=[AGENT_GROUP])
        agent = Agent(node, self.workdir / node, kubeconfig, self.storage.hubs[node].url)
        agent.start()
        self.agents[node] = agent
        return agent

    async def add_node(self, node: str) -> Agent:
        """An agent (and a hub of its own) for a node added to the cluster."""
        await self.storage.add_node(node, self._stack)
        return self.start_agent(node)

    def take_violations(self) -> list[str]:
        taken, self.violations = self.violations, []
        return taken

    async def stop(self) -> None:
        for agent in self.agents.values():
            agent.stop(timeout=10.0)
        await self._stack.aclose()
