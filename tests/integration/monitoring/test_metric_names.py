"""Every metric the Grafana dashboard and the Prometheus alert rules of deploy/monitoring
query is on the /metrics of a running manager (``ome run``, leading) or of a running
model agent (``ome agent``), both real processes against the test control plane."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from ome.client import Client
from ome.testing.pytest_plugin import Cluster
from tests.integration.helpers import eventually
from tests.integration.operator.support import (
    LEASE_NAME,
    NODES,
    ROOT,
    Operator,
    create_namespace,
    free_port,
)
from tests.monitoring import (
    SCRAPE_WRITTEN,
    alert_expressions,
    dashboard_expressions,
    exported_names,
    metric_names,
)

pytestmark = pytest.mark.integration

OPERATOR_NAMESPACE = "ome"


async def scrape(port: int) -> str | None:
    """/metrics as text, or None while it does not answer."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as answer,
        ):
            return await answer.text() if answer.status == 200 else None
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None


@contextlib.contextmanager
def agent_process(kubeconfig: Path, tmp_path: Path, metrics_port: int) -> Iterator[Path]:
    """``ome agent`` for a fake node, its log file yielded; killed on the way out."""
    log = tmp_path / "agent.log"
    command = [
        sys.executable, "-m", "ome.cli.main", "agent",
        "--node-name", NODES[0],
        "--models-root", str(tmp_path / "models"),
        "--namespace", OPERATOR_NAMESPACE,
        "--kubeconfig", str(kubeconfig),
        "--simulate",
        "--metrics-address", f"127.0.0.1:{metrics_port}",
        "--probe-address", f"127.0.0.1:{free_port()}",
        "--log-format", "console",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield log
    finally:
        process.kill()
        process.wait()


@pytest_asyncio.fixture(loop_scope="session")
async def expositions(
    cluster: Cluster, kubeconfig: Path, client: Client, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """The /metrics text of a leading manager and of an agent."""
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    await create_namespace(client, OPERATOR_NAMESPACE)
    manager = Operator(kubeconfig, OPERATOR_NAMESPACE, tmp_path / "manager.log", leader_elect=True)
    agent_port = free_port()
    texts: dict[str, str] = {}
    with agent_process(kubeconfig, tmp_path, agent_port) as agent_log:
        manager.start()
        try:

            async def leading() -> bool:
                text = await scrape(manager.metrics_port)
                if (
                    text is None
                    or f'leader_election_master_status{{name="{LEASE_NAME}"}} 1.0' not in text
                ):
                    return False
                texts["manager"] = text
                return True

            async def agent_serving() -> bool:
                text = await scrape(agent_port)
                if text is None or "model_agent_downloads_in_progress" not in text:
                    return False
                texts["agent"] = text
                return True

            await eventually(leading, timeout=90)
            await eventually(agent_serving, timeout=60)
        except BaseException:
            print(manager.tail())
            print(agent_log.read_text(errors="replace")[-4000:])
            raise
        finally:
            await asyncio.to_thread(manager.kill)
    yield texts


async def test_every_metric_queried_is_exported(expositions: dict[str, str]) -> None:
    exported = SCRAPE_WRITTEN | {n for text in expositions.values() for n in exported_names(text)}
    queries = {
        **{f"alert {name}": expr for name, expr in alert_expressions().items()},
        **{f"dashboard {where}": expr for where, expr in dashboard_expressions().items()},
    }
    missing = {
        where: sorted(metric_names(expr) - exported)
        for where, expr in queries.items()
        if metric_names(expr) - exported
    }
    assert not missing, f"queried but not on /metrics: {missing}"
    # the families the alerts were written for are really there, on the right process
    manager_names = exported_names(expositions["manager"])
    assert {
        "controller_runtime_webhook_latency_seconds_bucket",
        "ome_webhook_denied_total",
        "ome_inferenceservice_not_ready_seconds",
        "workqueue_depth",
    } <= manager_names
    assert "model_agent_downloads_failed_total" in exported_names(expositions["agent"])
