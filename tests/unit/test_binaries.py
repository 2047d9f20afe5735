"""Finding and building the control-plane binaries: the parts that need no Go build."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ome.testing import binaries
from ome.testing.binaries import BuildError


def write_module(directory: Path, kubernetes: str = "v1.37.2") -> Path:
    for module in ("kwok", "lws", "crds", "inference-extension", "knative"):
        (directory / module).mkdir(parents=True)
        (directory / module / "go.mod").write_text(f"module example.com/cp/{module}\n")
    (directory / "go.mod").write_text(
        f"module example.com/cp\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes {kubernetes}\n"
    )
    return directory


def fill_cache(out: Path) -> None:
    """Every binary and data file, as a finished build leaves them."""
    out.mkdir()
    for name in binaries.BINARY_NAMES:
        (out / name).write_text("")
        (out / name).chmod(0o755)
    for data in binaries.MODULE_DATA:
        for _, copied in data.files:
            (out / copied).parent.mkdir(parents=True, exist_ok=True)
            (out / copied).write_text("")


def stamp(out: Path, content: object) -> None:
    (out / binaries.STAMP).write_text(json.dumps(content))


def outdated(out: Path, module: Path) -> list[str]:
    return [t.name for t in binaries.outdated_targets(out, module)]


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
    fill_cache(out)
    assert not binaries.is_up_to_date(out, module)  # no stamp yet
    digests = {m: binaries.module_digest(module, m) for m in binaries.MODULES}
    stamp(out, {"modules": digests})
    assert binaries.is_up_to_date(out, module)
    (module / "go.mod").write_text((module / "go.mod").read_text() + "// changed\n")
    assert not binaries.is_up_to_date(out, module)  # module files changed: rebuild


def test_only_the_binaries_of_a_changed_module_are_outdated(tmp_path: Path) -> None:
    module = write_module(tmp_path / "module")
    out = tmp_path / "bin"
    fill_cache(out)
    stamp(out, {"modules": {m: binaries.module_digest(module, m) for m in binaries.MODULES}})
    (module / "lws" / "go.sum").write_text("changed\n")
    assert outdated(out, module) == ["lws-controller"]


def test_a_missing_binary_or_data_file_is_built_alone(tmp_path: Path) -> None:
    module = write_module(tmp_path / "module")
    out = tmp_path / "bin"
    fill_cache(out)
    stamp(out, {"modules": {m: binaries.module_digest(module, m) for m in binaries.MODULES}})
    (out / "kube-scheduler").unlink()
    assert outdated(out, module) == ["kube-scheduler"]
    (out / binaries.LWS_DIR / "webhook" / "manifests.yaml").unlink()
    assert outdated(out, module) == ["kube-scheduler", "lws-controller"]


def test_a_module_that_builds_nothing_is_fetched_alone(tmp_path: Path) -> None:
    """The CRDs of KEDA and the Gateway API come from a module of their own: a change to
    it, or a missing CRD file, rebuilds no binary."""
    module = write_module(tmp_path / "module")
    out = tmp_path / "bin"
    fill_cache(out)
    stamp(out, {"modules": {m: binaries.module_digest(module, m) for m in binaries.MODULES}})
    assert binaries.outdated_modules(out, module) == []
    (module / "crds" / "go.sum").write_text("changed\n")
    assert outdated(out, module) == []
    assert binaries.outdated_modules(out, module) == ["crds"]
    stamp(out, {"modules": {m: binaries.module_digest(module, m) for m in binaries.MODULES}})
    crds = out / binaries.ADDON_CRDS_DIR / "gateway-api"
    (crds / "gateway.networking.k8s.io_httproutes.yaml").unlink()
    assert binaries.outdated_modules(out, module) == ["crds"]
    assert not binaries.is_up_to_date(out, module)


def test_a_stamp_with_one_digest_over_the_first_modules_still_counts(tmp_path: Path) -> None:
    """Caches built before LeaderWorkerSet was added keep their binaries: only it is built."""
    module = write_module(tmp_path / "module")
    out = tmp_path / "bin"
    fill_cache(out)
    (out / "lws-controller").unlink()
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "kwok/go.mod", "kwok/go.sum"):
        digest.update(name.encode())
        path = module / name
        digest.update(path.read_bytes() if path.exists() else b"")
    stamp(out, {"digest": digest.hexdigest()[:16]})
    assert outdated(out, module) == ["lws-controller"]
    stamp(out, {"digest": "0123456789abcdef"})
    assert len(outdated(out, module)) == len(binaries.TARGETS)


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


def test_a_tool_is_built_once_and_again_when_its_module_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helm is built on request, with the Go toolchain (here a stand-in that records its
    calls and writes the binary ``-o`` names), and stamped with its module's digest."""
    module = write_module(tmp_path / "module")
    (module / "helm").mkdir()
    (module / "helm" / "go.mod").write_text("module example.com/cp/helm\n")
    calls = tmp_path / "calls"
    go = tmp_path / "go"
    go.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        "while [ $# -gt 0 ]; do\n"
        '  if [ "$1" = -o ]; then echo bin > "$2"; chmod +x "$2"; fi; shift\n'
        "done\n"
    )
    go.chmod(0o755)
    monkeypatch.setenv(binaries.GO_ENV, str(go))
    monkeypatch.delenv(binaries.BIN_ENV, raising=False)
    monkeypatch.setenv(binaries.CACHE_ENV, str(tmp_path / "cache"))
    helm = binaries.ensure_tool("helm", module, log=lambda _: None)
    assert helm == tmp_path / "cache" / "v1.37.2" / "helm"
    assert helm.read_text() == "bin\n"
    assert calls.read_text().splitlines()[-1].endswith("helm.sh/helm/v3/cmd/helm")
    built = len(calls.read_text().splitlines())
    assert binaries.ensure_tool("helm", module, log=lambda _: None) == helm
    assert len(calls.read_text().splitlines()) == built  # cached
    (module / "helm" / "go.mod").write_text("module example.com/cp/helm\n\ngo 1.26.1\n")
    binaries.ensure_tool("helm", module, log=lambda _: None)
    assert len(calls.read_text().splitlines()) > built  # its module changed: rebuilt
    assert not binaries.is_up_to_date(helm.parent, module)  # the control plane is apart
    with pytest.raises(BuildError, match="no tool 'kubectl'"):
        binaries.ensure_tool("kubectl", module)
    monkeypatch.setenv(binaries.BIN_ENV, str(tmp_path / "ready"))
    with pytest.raises(BuildError, match="lacks helm"):
        binaries.ensure_tool("helm", module)
