"""``ome agent`` as a process: killed with -9 mid-download it never reports a partial
model Ready, and once restarted it finishes the download from where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ome.agent.download.staging import staging_dir
from ome.agent.status import ModelRef, configmap_key, node_label_key
from ome.client import Client
from ome.controllers.kinds import BASEMODEL
from ome.testing.pytest_plugin import Cluster
from tests.integration.agent.fakehub import FakeHub
from tests.integration.helpers import eventually
from tests.integration.models.conftest import PUBLIC
from tests.integration.models.support import (
    STATUS_NAMESPACE,
    fake_nodes,
    model_controller,
    node_entry,
    node_labels,
)
from tests.unit.agent.helpers import MINILM

pytestmark = pytest.mark.integration

WEIGHTS = "model.safetensors"


@contextlib.asynccontextmanager
async def agent_process(
    kubeconfig: Path, node: str, root: Path, hub: FakeHub, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ome.cli.main", "agent",
            "--node-name", node,
            "--models-root", str(root),
            "--namespace", STATUS_NAMESPACE,
            "--kubeconfig", str(kubeconfig),
            "--hf-endpoint", hub.url,
            "--metrics-address", "127.0.0.1:0",
            "--probe-address", "127.0.0.1:0",
            "--retry-interval", "1",
            "--log-format", "console",
            stdout=out,
            stderr=out,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_agent_killed_mid_download_never_reports_a_partial_model(
    models_cluster: Cluster,
    admin: Client,
    namespace: str,
    tmp_path: Path,
    hub: FakeHub,
) -> None:
    node = f"{namespace}-kill"
    root = tmp_path / "models"
    dest = root / PUBLIC
    ref = ModelRef("minilm", namespace)
    log = tmp_path / "agent.log"
    stall = hub.stalls[WEIGHTS] = asyncio.Event()
    async with fake_nodes(admin, [node]), model_controller(models_cluster):
        model = {
            "apiVersion": "ome.io/v1beta1",
            "kind": "BaseModel",
            "metadata": {"name": "minilm", "namespace": namespace},
            "spec": {"storage": {"storageUri": f"hf://{PUBLIC}"}},
        }
        await (await admin.resource(BASEMODEL)).create(model)
        async with agent_process(models_cluster.kubeconfig, node, root, hub, log) as first:

            async def stalled_on_the_weights() -> bool:
                entry = await node_entry(admin, node, configmap_key(ref))
                return (
                    WEIGHTS in hub.stalled
                    and entry is not None
                    and entry["status"] == "Updating"
                    and (staging_dir(dest) / "vocab.txt").is_file()
                )

            await eventually(stalled_on_the_weights, timeout=60)
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
        stall.set()
        entry = await node_entry(admin, node, configmap_key(ref))
        assert entry is not None
        assert entry["status"] == "Updating"
        assert (await node_labels(admin, node))[node_label_key(ref)] == "Updating"
        assert not dest.exists()

        hub.downloads.clear()
        async with agent_process(models_cluster.kubeconfig, node, root, hub, log) as second:

            async def ready() -> bool:
                found = await node_entry(admin, node, configmap_key(ref))
                return found is not None and found["status"] == "Ready"

            await eventually(ready, timeout=60)
            assert hub.downloads == [WEIGHTS]  # the files finished before the kill were kept
            for file in MINILM.rglob("*"):
                if file.is_file():
                    copied = dest / file.relative_to(MINILM)
                    assert copied.read_bytes() == file.read_bytes()
            assert (await node_labels(admin, node))[node_label_key(ref)] == "Ready"

            await (await admin.resource(BASEMODEL)).delete("minilm", namespace)

            async def removed() -> bool:
                return (
                    not dest.exists() and await node_entry(admin, node, configmap_key(ref)) is None
                )

            await eventually(removed, timeout=60)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 40) == 0, log.read_text()[-3000:]
    hub.stalls.clear()
