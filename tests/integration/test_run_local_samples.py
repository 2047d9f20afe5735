"""`ome run --local` sized with node groups and given a folder of samples: the nodes carry
each group's GPUs and product, the samples are applied with the namespace they name (and
do not declare), the GPUs they need are reported against the nodes', and the service in
them becomes Ready."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ome.client import GVK, Client, load_configuration
from ome.controllers.kinds import INFERENCESERVICE
from ome.testing.process import free_port
from tests.integration.helpers import eventually, processes_mentioning, until_running_locally

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {
    "models/llama.yaml": """\
apiVersion: ome.io/v1beta1
kind: ClusterBaseModel
metadata: {name: llama}
spec:
  modelFormat: {name: safetensors, version: "1.0.0"}
  modelFramework: {name: transformers, version: "4.42.3"}
  modelArchitecture: LlamaForCausalLM
  storage: {storageUri: "hf://meta/llama"}
""",
    "runtimes/srt.yaml": """\
apiVersion: ome.io/v1beta1
kind: ClusterServingRuntime
metadata: {name: srt-llama}
spec:
  supportedModelFormats:
  - modelFormat: {name: safetensors, version: "1.0.0"}
    modelFramework: {name: transformers, version: "4.42.3"}
    modelArchitecture: LlamaForCausalLM
    autoSelect: true
  engineConfig:
    runner:
      name: ome-container
      image: sglang:1
      ports: [{containerPort: 8080, name: http1}]
      resources: {limits: {nvidia.com/gpu: 4}, requests: {nvidia.com/gpu: 4}}
""",
    "isvc/chat.yaml": """\
apiVersion: ome.io/v1beta1
kind: InferenceService
metadata: {name: chat, namespace: demo}
spec:
  model: {name: llama}
  engine: {minReplicas: 1}
""",
}


def _ready(service: dict[str, Any]) -> bool:
    conditions = (service.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def test_node_groups_and_samples(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    for name, text in SAMPLES.items():
        (samples / name).parent.mkdir(parents=True, exist_ok=True)
        (samples / name).write_text(text)
    state = tmp_path / "run"
    log = tmp_path / "ome-run.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ome.cli.main", "run", "--local",
            "--local-dir", str(state),
            "--node-group", "1x8",
            "--node-group", "1x2:NVIDIA-A10G",
            "--samples", str(samples),
            "--metrics-address", "127.0.0.1:0",
            "--probe-address", "127.0.0.1:0",
            "--webhook-address", f"127.0.0.1:{free_port()}",
            "--log-format", "console",
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        await until_running_locally(process, log, timeout=240)
        text = log.read_text()
        assert "1 node with 8 NVIDIA-H100-80GB-HBM3 GPUs + 1 node with 2 NVIDIA-A10G GPUs" in text
        assert "samples: applied 3 objects" in text
        assert "GPUs: 1 service need 4 in 1 pod; the cluster has 10 on 2 nodes" in text
        assert "samples: skipped" not in text

        kubeconfig = state / "cluster" / "kubeconfig"
        async with Client(await load_configuration(kubeconfig)) as client:
            nodes = (await client.get("/api/v1/nodes"))["items"]
            shapes = {
                n["metadata"]["name"]: (
                    n["status"]["allocatable"]["nvidia.com/gpu"],
                    n["metadata"]["labels"]["nvidia.com/gpu.product"],
                )
                for n in nodes
            }
            assert shapes == {
                "gpu-node-0": ("8", "NVIDIA-H100-80GB-HBM3"),
                "gpu-node-1": ("2", "NVIDIA-A10G"),
            }
            namespace = await (await client.resource(GVK("", "v1", "Namespace"))).get("demo")
            assert namespace["metadata"]["name"] == "demo"
            services = await client.resource(INFERENCESERVICE)

            async def served() -> bool:
                return _ready(await services.get("chat", "demo"))

            await eventually(served, timeout=120)

        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 90) == 0, log.read_text()[-3000:]
        assert processes_mentioning(str(state)) == []
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
