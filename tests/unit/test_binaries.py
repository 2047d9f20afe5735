"""Finding and building the control-plane binaries: the parts that need no Go build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ome.testing import binaries
from ome.testing.binaries import BuildError


def write_module(directory: Path, kubernetes: str = "v1.37.2") -> Path:
    (directory / "kwok").mkdir(parents=True)
    (directory / "go.mod").write_text(
        f"module example.com/cp\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes {kubernetes}\n"
    )
    (directory / "kwok" / "go.mod").write_text("module example.com/cp/kwok\n")
    return directory


def test_version_comes_from_go_mod(tmp_path: Path) -> None:
    assert binaries.kubernetes_version(write_module(tmp_path, "v1.36.3")) == "v1.36.3"


def test_the_committed_module_pins_a_kubernetes_release() -> None:
    assert binaries.kubernetes_version().startswith("v1.")


def test_go_mod_without_kubernetes_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/cp\n")
    with pytest.raises(BuildError, match=r"does not require k8s\.io/kubernetes"):
        binaries.kubernetes_version(tmp_path)


def test_cache_is_keyed_by_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(binaries.BIN_ENV, raising=False)
    monkeypatch.setenv(binaries.CACHE_ENV, str(tmp_path / "cache"))
    module = write_module(tmp_path / "module", "v1.35.4")
    assert binaries.bin_dir(module) == tmp_path / "cache" / "v1.35.4"


def test_up_to_date_needs_every_binary_and_a_matching_stamp(tmp_path: Path) -> None:
    module = write_module(tmp_path / "module")
    out = tmp_path / "bin"
    out.mkdir()
    for name in binaries.BINARY_NAMES:
        (out / name).write_text("")
        (out / name).chmod(0o755)
    assert not binaries.is_up_to_date(out, module)  # no stamp yet
    stamp = {"digest": binaries.modules_digest(module)}
    (out / binaries.STAMP).write_text(json.dumps(stamp))
    assert binaries.is_up_to_date(out, module)
    (module / "go.mod").write_text((module / "go.mod").read_text() + "// changed\n")
    assert not binaries.is_up_to_date(out, module)  # module files changed: rebuild


def test_no_go_toolchain_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(binaries.GO_ENV, raising=False)
    monkeypatch.delenv(binaries.BIN_ENV, raising=False)
    with pytest.raises(BuildError, match=r"Go toolchain not found.*Install Go >= 1\.26"):
        binaries.build(module_dir=write_module(tmp_path / "module"), out=tmp_path / "bin")


def test_a_ready_binary_directory_missing_files_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(binaries.BIN_ENV, str(tmp_path))
    with pytest.raises(BuildError, match="lacks etcd, kube-apiserver"):
        binaries.ensure_binaries()
