"""Three processes of the example operator compete for one Lease at controller-runtime's
default timings (15 s lease, 10 s renew deadline, 2 s retry). Each authenticates as its
own user, so the apiserver's audit log says who wrote what and when."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ome.client import GVK, Client, NotFound
from ome.testing import ControlPlane
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
WIDGET = GVK("example.ome.io", "v1", "Widget")
LEASE = "/apis/coordination.k8s.io/v1/namespaces/default/leases/widget-operator"
LEASE_DURATION, RETRY_PERIOD = 15.0, 2.0
AUDIT_POLICY = """
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
    resources:
      - {group: "", resources: [configmaps]}
      - {group: example.ome.io, resources: [widgets, widgets/status]}
      - {group: coordination.k8s.io, resources: [leases]}
  - level: None
"""


class Operators:
    """The competing processes, by identity."""

    def __init__(self, plane: ControlPlane, logs: Path) -> None:
        self.plane = plane
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, identity: str) -> None:
        kubeconfig = self.plane.user_kubeconfig(identity, groups=["system:masters"])
        command = [sys.executable, str(ROOT / "examples" / "widget_operator.py")]
        command += ["--kubeconfig", str(kubeconfig), "--leader-elect", identity]
        command += ["--metrics-address", "0", "--probe-address", "0"]
        with (self.logs / f"{identity}.log").open("ab") as log:
            self.processes[identity] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT / "examples")},
            )

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
            process.wait()


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("audit")
    (directory / "policy.yaml").write_text(AUDIT_POLICY)
    return directory


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def plane(audit_dir: Path) -> AsyncIterator[ControlPlane]:
    audit = [
        f"--audit-policy-file={audit_dir / 'policy.yaml'}",
        f"--audit-log-path={audit_dir / 'audit.log'}",
    ]
    async with ControlPlane(apiserver_args=audit) as started:
        await started.install_crds([ROOT / "examples" / "widget-crd.yaml"])
        yield started


@pytest.fixture
def operators(plane: ControlPlane, tmp_path: Path) -> Iterator[Operators]:
    group = Operators(plane, tmp_path)
    yield group
    group.stop_all()


def audit_events(audit_dir: Path) -> list[dict[str, Any]]:
    lines = (audit_dir / "audit.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


async def holder(client: Client) -> str:
    try:
        lease = await client.get(LEASE)
    except NotFound:
        return ""
    return str(lease["spec"].get("holderIdentity") or "")


async def create_widget(client: Client, name: str) -> None:
    widgets = await client.resource(WIDGET)
    await widgets.create({"metadata": {"name": name, "namespace": "default"}, "spec": {"size": 1}})


async def is_ready(client: Client, name: str) -> bool:
    widget = await (await client.resource(WIDGET)).get(name, "default")
    conditions = widget.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def first_leader(client: Client, operators: Operators) -> str:
    for identity in ("op-0", "op-1", "op-2"):
        operators.start(identity)

    async def elected() -> bool:
        return bool(await holder(client))

    await eventually(elected, timeout=60)
    await create_widget(client, "first")
    await eventually(lambda: is_ready(client, "first"), timeout=30)
    return await holder(client)


async def test_failover_stale_leader_and_release(
    plane: ControlPlane, operators: Operators, audit_dir: Path
) -> None:
    async with await plane.client() as client:
        # 1. kill -9 of the leader: a follower reconciles within LD + 2 RP.
        leader = await first_leader(client, operators)
        operators.processes[leader].kill()
        killed = time.monotonic()
        await create_widget(client, "after-kill")
        await eventually(lambda: is_ready(client, "after-kill"), timeout=60)
        failover = time.monotonic() - killed
        print(f"kill -9 failover: reconciling again after {failover:.1f}s")
        assert failover <= LEASE_DURATION + 2 * RETRY_PERIOD + 2  # + 2 s to observe it
        second = await holder(client)
        assert second not in ("", leader)

        # 2. SIGSTOP the leader past its lease, then SIGCONT: it writes nothing as leader.
        stale = operators.processes[second]
        stale.send_signal(signal.SIGSTOP)
        await create_widget(client, "while-stopped")

        async def taken_over() -> bool:
            return await holder(client) not in ("", second)

        await eventually(taken_over, timeout=60)
        third = await holder(client)
        await eventually(lambda: is_ready(client, "while-stopped"), timeout=30)
        stale.send_signal(signal.SIGCONT)
        await create_widget(client, "after-resume")
        await eventually(lambda: is_ready(client, "after-resume"), timeout=30)
        assert await asyncio.to_thread(stale.wait, 30) == 1  # it noticed and exited non-zero
        acquired = next(
            e["stageTimestamp"]
            for e in audit_events(audit_dir)
            if e["user"]["username"] == third
            and e["objectRef"]["resource"] == "leases"
            and e["responseStatus"]["code"] < 300
        )
        stale_writes = [
            (e["verb"], e["objectRef"]["resource"], e["objectRef"].get("name"))
            for e in audit_events(audit_dir)
            if e["user"]["username"] == second
            and e["objectRef"]["resource"] != "leases"
            and e["responseStatus"]["code"] < 300
            and e["stageTimestamp"] > acquired
        ]
        assert stale_writes == []

        # 3. SIGTERM with release: the lease changes hands before it could have expired.
        operators.start(second)  # a follower to hand over to
        operators.processes[third].send_signal(signal.SIGTERM)
        terminated = time.monotonic()

        async def handed_over() -> bool:
            return await holder(client) not in ("", third)

        await eventually(handed_over, timeout=30)
        handover = time.monotonic() - terminated
        print(f"SIGTERM handover: {handover:.1f}s")
        assert handover < LEASE_DURATION
        assert await asyncio.to_thread(operators.processes[third].wait, 30) == 0
