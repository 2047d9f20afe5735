"""Locating, and when missing building, the control-plane binaries.

The binaries come from Go modules pinned in ``tools/controlplane`` (go.mod and go.sum are
committed), built with the Go toolchain through the module proxy. They are cached outside
the repository, keyed by the Kubernetes version, in ``$OME_CONTROLPLANE_CACHE/<version>``
(default ``~/.cache/ome/controlplane/<version>``), beside the data files the control plane
reads from the same modules (kwok's stages, LeaderWorkerSet's CRD and webhook manifests,
and from modules of their own that build nothing, the CRDs of KEDA, the Gateway API, its
Inference Extension and Knative Serving).
A stamp file records a digest of each module's files, so changing one module rebuilds only
its binaries, a missing binary is built alone, and running the build twice does nothing.
``OME_CONTROLPLANE_BIN`` names a ready directory of binaries and disables building.
Tools only some tests use (helm for the charts, promtool for the alert rules) come from
modules of their own beside those, and are built into the same directory only when asked
for (:func:`ensure_tool`, or ``python -m ome.testing tools``, which `make test` runs first).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "OME_CONTROLPLANE_CACHE"
BIN_ENV = "OME_CONTROLPLANE_BIN"
GO_ENV = "OME_GO"
STAMP = "BUILD-INFO.json"
KWOK_STAGES_DIR = "kwok-stages"
LWS_DIR = "lws"  # LeaderWorkerSet's CRDs (crds/) and webhook manifests (webhook/)
# keda/, gateway-api/, inference-extension/, knative/: APIs a service may use
ADDON_CRDS_DIR = "crds"


class BuildError(RuntimeError):
    """A control-plane binary could not be found or built; the message says why."""


@dataclass(frozen=True)
class Target:
    """One binary: its file name, the Go package it is built from and its module dir."""

    name: str
    package: str
    module: str  # directory relative to tools/controlplane
    kubernetes_ldflags: bool = False


@dataclass(frozen=True)
class ModuleData:
    """Files a Go module ships that the control plane reads at run time, copied next to
    the binaries: (path inside the Go module, path inside the binary directory)."""

    module: str  # directory relative to tools/controlplane
    go_module: str
    files: tuple[tuple[str, str], ...]


TARGETS = (
    Target("etcd", "go.etcd.io/etcd/server/v3", "."),
    Target("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", ".", True),
    Target("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", ".", True),
    Target("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", ".", True),
    Target("kwok", "sigs.k8s.io/kwok/cmd/kwok", "kwok"),
    Target("lws-controller", "sigs.k8s.io/lws/cmd", "lws"),
)
BINARY_NAMES = tuple(t.name for t in TARGETS)
TOOLS = (
    Target("helm", "helm.sh/helm/v3/cmd/helm", "helm"),
    Target("promtool", "github.com/prometheus/prometheus/cmd/promtool", "promtool"),
)
"""Binaries only some tests use: built on first request (:func:`ensure_tool`), into the
same directory, each stamped with its module's digest; never with the control plane."""

# The kwok stages that make fake nodes Ready (with leases) and fake pods Running, completed
# and finally deleted.
_KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
# LeaderWorkerSet's CRD, and its webhook configurations with the kustomize patches that
# narrow the pod webhooks to LeaderWorkerSet's own pods.
_LWS_FILES = (
    "crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml",
    "webhook/manifests.yaml",
    "webhook/kustomization.yaml",
    "webhook/mutating-patch.yaml",
    "webhook/validating-patch.yaml",
)
# KEDA's ScaledObject and authentication kinds, and the Gateway API's standard channel.
_KEDA_CRDS = (
    "keda.sh_scaledobjects.yaml",
    "keda.sh_triggerauthentications.yaml",
    "keda.sh_clustertriggerauthentications.yaml",
)
_GATEWAY_API_CRDS = (
    "gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_grpcroutes.yaml",
    "gateway.networking.k8s.io_referencegrants.yaml",
)
# The Inference Extension's InferencePool at v1 (its x-k8s.io alpha kinds are left out).
_INFERENCE_CRDS = ("inference.networking.k8s.io_inferencepools.yaml",)
# Knative Serving's serving.knative.dev kinds: the Service a Serverless component is
# rendered as, and the Configuration, Revision and Route its controller makes of it.
_KNATIVE_CRDS = ("service.yaml", "configuration.yaml", "revision.yaml", "route.yaml")
MODULE_DATA = (
    ModuleData(
        "kwok",
        "sigs.k8s.io/kwok",
        tuple(
            (f"kustomize/stage/{path}", f"{KWOK_STAGES_DIR}/{Path(path).name}")
            for path in _KWOK_STAGES
        ),
    ),
    ModuleData(
        "lws",
        "sigs.k8s.io/lws",
        tuple(
            (f"config/{path}", f"{LWS_DIR}/{path.replace('crd/bases/', 'crds/')}")
            for path in _LWS_FILES
        ),
    ),
    ModuleData(
        "crds",
        "github.com/kedacore/keda/v2",
        tuple((f"config/crd/bases/{n}", f"{ADDON_CRDS_DIR}/keda/{n}") for n in _KEDA_CRDS),
    ),
    ModuleData(
        "crds",
        "sigs.k8s.io/gateway-api",
        tuple(
            (f"config/crd/standard/{n}", f"{ADDON_CRDS_DIR}/gateway-api/{n}")
            for n in _GATEWAY_API_CRDS
        ),
    ),
    ModuleData(
        "inference-extension",
        "sigs.k8s.io/gateway-api-inference-extension",
        tuple(
            (f"config/crd/bases/{n}", f"{ADDON_CRDS_DIR}/inference-extension/{n}")
            for n in _INFERENCE_CRDS
        ),
    ),
    ModuleData(
        "knative",
        "knative.dev/serving",
        tuple(
            (f"config/core/300-resources/{n}", f"{ADDON_CRDS_DIR}/knative/{n}")
            for n in _KNATIVE_CRDS
        ),
    ),
)
MODULES = tuple(sorted({t.module for t in TARGETS} | {d.module for d in MODULE_DATA}))


def source_dir() -> Path:
    """The Go modules: ``gomodules`` beside this file, which in a source checkout links to
    tools/controlplane and in an installed wheel is a copy of it."""
    return Path(__file__).parent / "gomodules"


def kubernetes_version(module_dir: Path | None = None) -> str:
    gomod = (module_dir or source_dir()) / "go.mod"
    try:
        text = gomod.read_text()
    except OSError as err:
        raise BuildError(f"cannot read {gomod}: {err.strerror}") from err
    match = re.search(r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)", text, re.MULTILINE)
    if match is None:
        raise BuildError(f"{gomod} does not require k8s.io/kubernetes")
    return match.group(1)


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "ome" / "controlplane"


def _digest(module_dir: Path, modules: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for module in modules:
        for name in ("go.mod", "go.sum"):
            path = module_dir / module / name
            digest.update(str(path.relative_to(module_dir)).encode())
            digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def module_digest(module_dir: Path, module: str) -> str:
    """A digest of one module's go.mod and go.sum: what its binaries are built from."""
    return _digest(module_dir, [module])


def bin_dir(module_dir: Path | None = None) -> Path:
    """Where the binaries are (or will be once built)."""
    configured = os.environ.get(BIN_ENV)
    if configured:
        return Path(configured).expanduser()
    return cache_root() / kubernetes_version(module_dir)


def missing_binaries(directory: Path) -> list[str]:
    return [name for name in BINARY_NAMES if not os.access(directory / name, os.X_OK)]


def _stamped_modules(directory: Path, module_dir: Path) -> dict[str, str]:
    """The module digests the binaries in ``directory`` were built from."""
    try:
        stamp = json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stamp, dict):
        return {}
    modules = stamp.get("modules")
    if isinstance(modules, dict):
        return {str(k): str(v) for k, v in modules.items()}
    # Stamps written before there were per-module digests hold one over these modules.
    earlier = (".", "kwok")
    if stamp.get("digest") == _digest(module_dir, earlier):
        return {module: module_digest(module_dir, module) for module in earlier}
    return {}


def _data_missing(directory: Path, module: str) -> bool:
    return any(
        not (directory / copied).is_file()
        for data in MODULE_DATA
        if data.module == module
        for _, copied in data.files
    )


def _outdated_modules(directory: Path, module_dir: Path) -> set[str]:
    """Modules built from other files than they are now, or whose data files are missing."""
    stamped = _stamped_modules(directory, module_dir)
    return {
        module
        for module in MODULES
        if stamped.get(module) != module_digest(module_dir, module)
        or _data_missing(directory, module)
    }


def outdated_targets(directory: Path, module_dir: Path) -> list[Target]:
    """The binaries to build: missing, or built from other module files, or whose
    module's data files are missing."""
    modules = _outdated_modules(directory, module_dir)
    return [
        target
        for target in TARGETS
        if not os.access(directory / target.name, os.X_OK) or target.module in modules
    ]


def outdated_modules(directory: Path, module_dir: Path) -> list[str]:
    """The modules to download and copy data from: those of outdated binaries, and the
    modules that build nothing whose data is outdated."""
    targets = {t.module for t in outdated_targets(directory, module_dir)}
    return sorted(targets | _outdated_modules(directory, module_dir))


def is_up_to_date(directory: Path, module_dir: Path) -> bool:
    return not outdated_modules(directory, module_dir)


def find_go() -> str:
    go = os.environ.get(GO_ENV) or shutil.which("go")
    if not go:
        raise BuildError(
            "Go toolchain not found: the control plane is built from Go modules. "
            f"Install Go >= 1.26 and put `go` on PATH (or set {GO_ENV}), "
            f"or set {BIN_ENV} to a directory holding {', '.join(BINARY_NAMES)}."
        )
    return go


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Same flags every time: the Go build cache only hits when they match.
    env.update({"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-trimpath -buildvcs=false"})
    return env


def _run_go(go: str, args: Sequence[str], cwd: Path, env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(
            [go, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except OSError as err:
        raise BuildError(f"{what}: cannot run {go}: {err.strerror}") from err
    if done.returncode != 0:
        raise BuildError(f"{what} failed (exit {done.returncode}):\n{_tail(done.stderr)}")
    return done.stdout


def _kubernetes_ldflags(version: str) -> str:
    minor = version.split(".")[1]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor=1",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _copy_module_data(
    go: str, module_dir: Path, env: dict[str, str], out: Path, data: ModuleData
) -> None:
    root = _run_go(
        go,
        ["list", "-m", "-f", "{{.Dir}}", data.go_module],
        module_dir / data.module,
        env,
        f"locating the {data.go_module} module",
    ).strip()
    for inside, copied in data.files:
        source = Path(root) / inside
        if not source.is_file():
            raise BuildError(f"{inside} is missing from {root}")
        target = out / copied
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(source, partial)
        partial.replace(target)  # atomic, like the binaries


def _build_target(
    go: str,
    module_dir: Path,
    env: dict[str, str],
    out: Path,
    target: Target,
    *,
    ldflags: str,
    log: Callable[[str], None],
) -> None:
    t0 = time.monotonic()
    log(f"  {target.name}: building {target.package} ...")
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        binary = Path(scratch) / target.name
        _run_go(
            go,
            ["build", "-ldflags", ldflags, "-o", str(binary), target.package],
            module_dir / target.module,
            env,
            f"building {target.name}",
        )
        binary.replace(out / target.name)  # atomic: never a half-written binary
    log(f"  {target.name}: done in {time.monotonic() - t0:.0f}s")


def tool_stamp(directory: Path, name: str) -> Path:
    return directory / f".{name}.{STAMP}"


def _tool_is_current(directory: Path, target: Target, module_dir: Path) -> bool:
    if not os.access(directory / target.name, os.X_OK):
        return False
    try:
        stamp = json.loads(tool_stamp(directory, target.name).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("digest") == module_digest(
        module_dir, target.module
    )


def ensure_tool(
    name: str, module_dir: Path | None = None, log: Callable[[str], None] = print
) -> Path:
    """The path of one of :data:`TOOLS`, built into the binary directory first when it
    is missing or was built from other module files."""
    target = next((t for t in TOOLS if t.name == name), None)
    if target is None:
        raise BuildError(f"no tool {name!r}: one of {', '.join(t.name for t in TOOLS)}")
    module_dir = module_dir or source_dir()
    directory = bin_dir(module_dir)
    if os.environ.get(BIN_ENV):
        if not os.access(directory / name, os.X_OK):
            raise BuildError(f"{BIN_ENV}={directory} lacks {name}")
        return directory / name
    if _tool_is_current(directory, target, module_dir):
        return directory / name
    go = find_go()
    env = _go_env()
    directory.mkdir(parents=True, exist_ok=True)
    module = module_dir / target.module
    _run_go(go, ["mod", "download"], module, env, f"downloading the Go modules of {module}")
    _build_target(go, module_dir, env, directory, target, ldflags="-s -w", log=log)
    partial = directory / f".{name}.partial-stamp"
    stamp = {"digest": module_digest(module_dir, target.module), "built": time.time()}
    partial.write_text(json.dumps(stamp) + "\n")
    partial.replace(tool_stamp(directory, name))
    return directory / name


def build(
    module_dir: Path | None = None,
    out: Path | None = None,
    log: Callable[[str], None] = print,
    force: bool = False,
) -> Path:
    """Build every missing or outdated binary into the cache and return its directory."""
    module_dir = module_dir or source_dir()
    version = kubernetes_version(module_dir)
    out = out or bin_dir(module_dir)
    targets = list(TARGETS) if force else outdated_targets(out, module_dir)
    modules = list(MODULES) if force else outdated_modules(out, module_dir)
    if not modules:
        log(f"control plane {version}: up to date in {out}")
        return out
    if os.environ.get(BIN_ENV) and out == bin_dir(module_dir):
        raise BuildError(f"{BIN_ENV}={out} lacks {', '.join(missing_binaries(out))}")
    go = find_go()
    out.mkdir(parents=True, exist_ok=True)
    env = _go_env()
    started = time.monotonic()
    names = ", ".join(t.name for t in targets) or "no binaries"
    log(f"control plane {version}: building {names} into {out}")
    for module in modules:
        _run_go(
            go,
            ["mod", "download"],
            module_dir / module,
            env,
            f"downloading the Go modules of tools/controlplane/{module}",
        )
    ldflags = _kubernetes_ldflags(version)
    for target in targets:
        flags = ldflags if target.kubernetes_ldflags else "-s -w"
        _build_target(go, module_dir, env, out, target, ldflags=flags, log=log)
    for data in MODULE_DATA:
        if data.module in modules:
            _copy_module_data(go, module_dir, env, out, data)
    # Modules not rebuilt kept matching digests, so every module is current now.
    stamp = {
        "version": version,
        "modules": {module: module_digest(module_dir, module) for module in MODULES},
        # what checkouts from before per-module digests check, so they build nothing
        "digest": _digest(module_dir, (".", "kwok")),
        "built": time.time(),
    }
    partial = out / f".{STAMP}.partial"
    partial.write_text(json.dumps(stamp, indent=2) + "\n")
    partial.replace(out / STAMP)
    log(f"control plane {version}: built in {time.monotonic() - started:.0f}s")
    return out


def ensure_binaries(log: Callable[[str], None] = print) -> Path:
    """The binary directory, building what is missing first."""
    directory = bin_dir()
    if os.environ.get(BIN_ENV):
        missing = missing_binaries(directory)
        if missing:
            raise BuildError(f"{BIN_ENV}={directory} lacks {', '.join(missing)}")
        return directory
    return build(out=directory, log=log)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ome.testing",
        description="build: the control-plane binaries (etcd, kube-apiserver, "
        "kube-controller-manager, kube-scheduler, kwok, lws-controller) unless they are "
        "cached; tools: the tools only some tests use (helm, promtool), likewise; path: "
        "where they are.",
    )
    parser.add_argument("command", choices=["build", "tools", "path"], nargs="?", default="build")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    log = functools.partial(print, flush=True)
    try:
        if args.command == "path":
            print(bin_dir())
        elif args.command == "tools":
            for tool in TOOLS:
                log(f"{tool.name}: {ensure_tool(tool.name, log=log)}")
        else:
            build(force=args.force, log=log)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
