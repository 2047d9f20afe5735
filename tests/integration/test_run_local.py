"""`ome run --local` as a newcomer runs it (`make run`): the embedded control plane, the
operator and the model agents come up; an upstream sample with its model and runtime
becomes Ready with a URL that `kubectl get isvc` shows; Ctrl-C leaves no process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.client import Client, load_configuration
from ome.controllers.kinds import INFERENCESERVICE
from tests.integration.helpers import eventually, processes_mentioning, until_running_locally

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "ome-reference" / "config"
SAMPLE = (
    REFERENCE / "models" / "Qwen" / "Qwen1.5-7B-Chat.yaml",
    REFERENCE / "runtimes" / "srt" / "Qwen" / "Qwen1.5-7B-Chat-rt.yaml",
    REFERENCE / "samples" / "isvc" / "Qwen" / "Qwen1.5-7B-Chat.yaml",
)


def _ready(service: dict[str, Any]) -> bool:
    conditions = (service.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def _kubectl(env: dict[str, str], *args: str) -> str:
    """kubectl from the kubectl wheel, as a user would run it; its output."""
    kubectl = str(Path(sys.executable).parent / "kubectl")
    process = await asyncio.create_subprocess_exec(
        kubectl, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_run_local_serves_a_sample_and_stops_cleanly(tmp_path: Path) -> None:
    if not all(path.is_file() for path in SAMPLE):
        pytest.skip(f"the OME reference catalogue is not at {REFERENCE}")
    state = tmp_path / "run"
    log = tmp_path / "ome-run.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ome.cli.main", "run", "--local",
            "--local-dir", str(state),
            "--metrics-address", "127.0.0.1:0",
            "--probe-address", "127.0.0.1:0",
            "--log-format", "console",
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        await until_running_locally(process, log, timeout=240)
        kubeconfig = state / "cluster" / "kubeconfig"
        assert f"export KUBECONFIG={kubeconfig}" in log.read_text()
        sample = yaml.safe_load(SAMPLE[-1].read_text())
        namespace = sample["metadata"]["namespace"]
        # HOME too: kubectl keeps its discovery cache there.
        env = {"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        await _kubectl(env, "create", "namespace", namespace)
        for path in SAMPLE:
            await _kubectl(env, "apply", "-f", str(path))

        async with Client(await load_configuration(kubeconfig)) as client:
            services = await client.resource(INFERENCESERVICE)

            async def served() -> bool:
                found = await services.get(sample["metadata"]["name"], namespace)
                return _ready(found) and bool((found.get("status") or {}).get("url"))

            await eventually(served, timeout=120)
            url = (await services.get(sample["metadata"]["name"], namespace))["status"]["url"]
        assert url in await _kubectl(env, "get", "isvc", "-n", namespace)

        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 90) == 0, log.read_text()[-3000:]
        assert "stopped: the operator, the model agents and the local control plane" in (
            log.read_text()
        )
        assert processes_mentioning(str(state)) == []
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
