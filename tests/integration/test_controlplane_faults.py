"""Faults while building or starting the control plane give a short error naming what
failed, with the tail of its log, and leave no process behind."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ome.testing import binaries, controlplane
from ome.testing.binaries import BuildError
from ome.testing.controlplane import ControlPlane
from ome.testing.process import ComponentError
from tests.integration.helpers import processes_mentioning

pytestmark = pytest.mark.integration


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def first_proxy() -> str:
    configured = os.environ.get("GOPROXY") or os.popen("go env GOPROXY").read().strip()
    return configured.split(",")[0].split("|")[0]


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
def test_a_module_the_proxy_does_not_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kwok").mkdir()
    (tmp_path / "go.mod").write_text(
        "module example.com/cp\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v1.99.0\n"
    )
    (tmp_path / "kwok" / "go.mod").write_text("module example.com/cp/kwok\n\ngo 1.26.0\n")
    monkeypatch.setenv("GOPROXY", first_proxy())  # no fallback to direct version control
    monkeypatch.setenv("GOSUMDB", "off")
    monkeypatch.delenv(binaries.BIN_ENV, raising=False)
    with pytest.raises(BuildError) as failure:
        binaries.build(module_dir=tmp_path, out=tmp_path / "bin", log=lambda _: None)
    message = str(failure.value)
    assert "downloading the Go modules of tools/controlplane/." in message
    assert "k8s.io/kubernetes@v1.99.0" in message
    assert not (tmp_path / "bin" / "etcd").exists()


async def test_a_component_that_exits_at_start(tmp_path: Path) -> None:
    plane = ControlPlane(run_dir=tmp_path / "run", apiserver_args=["--no-such-flag"])
    with pytest.raises(ComponentError) as failure:
        await plane.start()
    message = str(failure.value)
    assert message.startswith("kube-apiserver: exited at start with exit code 1")
    assert "unknown flag: --no-such-flag" in failure.value.log_tail
    assert processes_mentioning(str(tmp_path)) == []


async def test_a_port_that_stays_busy(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controlplane, "free_port", lambda: busy_port)
    plane = ControlPlane(run_dir=tmp_path / "run")
    with pytest.raises(ComponentError) as failure:
        await plane.start()
    assert str(failure.value).startswith("etcd: exited at start")
    assert "address already in use" in failure.value.log_tail
    assert processes_mentioning(str(tmp_path)) == []


async def test_a_port_clash_is_retried(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clashes = [busy_port, busy_port]
    real = controlplane.free_port
    monkeypatch.setattr(controlplane, "free_port", lambda: clashes.pop() if clashes else real())
    async with ControlPlane(run_dir=tmp_path / "run") as plane:
        assert busy_port not in (plane.ports.etcd_client, plane.ports.etcd_peer)
        async with await plane.client() as client:
            assert (await client.get("/api/v1/namespaces/default"))["metadata"]["name"]
    assert processes_mentioning(str(tmp_path)) == []
