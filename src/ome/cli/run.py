"""``ome run``: the operator. Against the cluster of a kubeconfig (or in-cluster), or with
``--local`` on an embedded control plane with fake GPU nodes and a model agent per node,
all stopped by Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ome.agent.daemon import setup as setup_agent
from ome.agent.download import HfSettings
from ome.agent.node_agent import AgentSettings
from ome.cli import bootstrap, logs, samples
from ome.cli.arguments import add_node_arguments, describe_nodes, node_groups
from ome.cli.operator import OperatorOptions, build_manager, served_apis
from ome.client import Client, load_configuration
from ome.runtime import LeaderElectionLost, Manager, ManagerOptions
from ome.runtime import loop as event_loop
from ome.testing.binaries import BuildError
from ome.testing.controlplane import ControlPlane
from ome.testing.crds import install_crds
from ome.testing.nodes import group_nodes
from ome.testing.process import ComponentError

DEFAULT_LOCAL_DIR = Path(".ome/run")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run the operator",
        description="Run the operator: every controller, in one manager.",
    )
    where = parser.add_argument_group("cluster")
    where.add_argument("--kubeconfig", default=None, help="default: $KUBECONFIG, else in-cluster")
    where.add_argument(
        "--local",
        action="store_true",
        help="start an embedded control plane with fake GPU nodes and run there",
    )
    where.add_argument(
        "--local-dir",
        type=Path,
        default=DEFAULT_LOCAL_DIR,
        help=f"--local: state of the embedded cluster (default {DEFAULT_LOCAL_DIR})",
    )
    add_node_arguments(parser.add_argument_group("--local: fake GPU nodes"))
    where.add_argument(
        "--catalog",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="--local: apply the models and runtimes found in DIR (repeatable)",
    )
    where.add_argument(
        "--samples",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="--local: apply every manifest under DIR once the operator runs, with the "
        "namespaces they name created first (repeatable)",
    )
    where.add_argument(
        "--real-downloads",
        action="store_true",
        help="--local: the model agents really fetch models (default: they fetch only the "
        "metadata files, config.json and safetensors headers)",
    )
    where.add_argument(
        "--model-metadata",
        type=Path,
        default=None,
        metavar="DIR",
        help="--local: model metadata to use instead of fetching it: DIR/{model name}/config.json "
        "or DIR/hf/{org}/{model}/config.json",
    )
    where.add_argument(
        "--hf-endpoint", default=None, help="--local: the agents' Hugging Face Hub ($HF_ENDPOINT)"
    )
    scope = parser.add_argument_group("scope")
    scope.add_argument("--namespace", default=None, help="watch only this namespace (default: all)")
    scope.add_argument(
        "--operator-namespace",
        default=os.environ.get("POD_NAMESPACE", "ome"),
        help="the operator's own namespace (default $POD_NAMESPACE or ome)",
    )
    runtime = parser.add_argument_group("runtime")
    runtime.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compete for a Lease before reconciling (default: on, off with --local)",
    )
    runtime.add_argument("--metrics-address", default=":8080")
    runtime.add_argument(
        "--webhook-address",
        default=None,
        help="admission webhooks (HTTPS) listen here (default :9443, 127.0.0.1:9443 with --local)",
    )
    runtime.add_argument(
        "--webhook-url",
        default=None,
        metavar="URL",
        help="the URL the webhook configurations call (https://HOST:PORT), for a manager "
        "outside the cluster; default: the Service ome-webhook-server-service",
    )
    runtime.add_argument(
        "--webhooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve the admission webhooks (default: on)",
    )
    runtime.add_argument("--probe-address", default=":8081", help="/healthz and /readyz")
    runtime.add_argument("--isvc-workers", type=int, default=4)
    runtime.add_argument("--model-workers", type=int, default=2)
    runtime.add_argument(
        "--compact-caches",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the caches of InferenceServices and their children as JSON, decoded on "
        "each read: less memory, a little CPU per read (default: on)",
    )
    logs.add_arguments(runtime)
    parser.set_defaults(handler=run)


def options_from(args: argparse.Namespace) -> OperatorOptions:
    leader_elect = args.leader_elect if args.leader_elect is not None else not args.local
    try:
        return OperatorOptions(
            operator_namespace=args.operator_namespace,
            namespace=args.namespace,
            leader_elect=leader_elect,
            metrics_address=args.metrics_address,
            probe_address=args.probe_address,
            isvc_workers=args.isvc_workers,
            model_workers=args.model_workers,
            compact_caches=args.compact_caches,
            handle_signals=not args.local,
            webhook_address=_webhook_address(args),
            webhook_url=args.webhook_url,
            local=args.local,
        )
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None


def _webhook_address(args: argparse.Namespace) -> str | None:
    if not args.webhooks:
        return None
    return args.webhook_address or ("127.0.0.1:9443" if args.local else ":9443")


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    if args.catalog and not args.local:
        raise SystemExit("error: --catalog is for --local (apply a catalogue with kubectl)")
    if args.samples and not args.local:
        raise SystemExit("error: --samples is for --local (apply samples with kubectl)")
    if args.model_metadata is not None and not args.model_metadata.is_dir():
        raise SystemExit(f"error: --model-metadata: not a directory: {args.model_metadata}")
    for flag, directories in (("--catalog", args.catalog), ("--samples", args.samples)):
        missing = [str(d) for d in directories if not d.is_dir()]
        if missing:
            raise SystemExit(f"error: {flag}: not a directory: {', '.join(missing)}")
    logs.configure(args.log_level, args.log_format)
    try:
        if args.local:
            return event_loop.run(_run_local(args, options))
        return event_loop.run(_run_cluster(args, options))
    except LeaderElectionLost as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


async def _run_cluster(args: argparse.Namespace, options: OperatorOptions) -> int:
    client = Client(await load_configuration(args.kubeconfig))
    await build_manager(client, await served_apis(client, options)).run()
    return 0


async def _run_local(args: argparse.Namespace, options: OperatorOptions) -> int:
    groups = node_groups(args)
    started = time.monotonic()
    plane = ControlPlane(
        controller_manager=True,
        scheduler=True,
        nodes=group_nodes(groups),
        leaderworkerset=True,
        addon_crds=True,
        run_dir=args.local_dir.absolute() / "cluster",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"starting the local control plane with {describe_nodes(groups)}…", flush=True)
        await plane.start()
        await _prepare(plane, args, options)
        async with contextlib.AsyncExitStack() as stack:
            for node in plane.options.nodes:
                agent = _agent(await plane.client(), node.name, args, options)
                await stack.enter_async_context(agent.running())
            operator = build_manager(await plane.client(), options)
            await stack.enter_async_context(operator.running())
            if args.samples:
                await _apply_samples(plane, operator, args, options)
            print(_hints(plane.kubeconfig, time.monotonic() - started), flush=True)
            await stop.wait()
            print("stopping…", flush=True)
    except (BuildError, ComponentError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        await plane.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print("stopped: the operator, the model agents and the local control plane")
    return 0


async def _prepare(plane: ControlPlane, args: argparse.Namespace, opts: OperatorOptions) -> None:
    crds = bootstrap.write_crds(args.local_dir.absolute() / "crds")
    objects, problems = bootstrap.catalog_objects(args.catalog)
    async with await plane.client() as admin:
        await bootstrap.ensure_namespace(admin, opts.operator_namespace)
        await install_crds(admin, crds)
        await bootstrap.install_config(admin, bootstrap.config_map(opts.operator_namespace))
        if args.catalog:
            refused = await bootstrap.install_catalog(admin, objects)
            for problem in [*problems, *refused]:
                print(f"catalog: skipped {problem}", file=sys.stderr)
            print(f"catalog: applied {len(objects) - len(refused)} models and runtimes", flush=True)


async def _apply_samples(
    plane: ControlPlane, operator: Manager, args: argparse.Namespace, opts: OperatorOptions
) -> None:
    """Once the operator is ready (its webhooks admit the samples as they would a
    kubectl apply): the samples, and the GPUs their services need against the nodes'."""
    await _until_ready(operator)
    found = samples.read_samples(args.samples)
    async with await plane.client() as admin:
        refused = await samples.apply_samples(admin, found.objects)
    for problem in [*found.problems, *refused]:
        print(f"samples: skipped {problem}", file=sys.stderr)
    print(f"samples: applied {len(found.objects) - len(refused)} objects", flush=True)
    catalogue, _ = bootstrap.catalog_objects(args.catalog)
    data = bootstrap.config_map(opts.operator_namespace).get("data") or {}
    nodes = [node.gpus for node in plane.options.nodes]
    print("\n".join(samples.gpu_lines(found.objects, catalogue, data, nodes)), flush=True)


async def _until_ready(manager: Manager, timeout: float = 60.0) -> None:
    """Until every readiness check passes (caches synced, webhooks serving), or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcomes = [check() for check in manager.probes.checks["readyz"].values()]
        results = [await o if inspect.isawaitable(o) else o for o in outcomes]
        if all(result is None for result in results):
            return
        await asyncio.sleep(0.2)


def _agent(
    client: Client, node: str, args: argparse.Namespace, options: OperatorOptions
) -> Manager:
    manager = Manager(
        client,
        ManagerOptions(
            metrics_address="127.0.0.1:0",
            probe_address="127.0.0.1:0",
            handle_signals=False,
            identity=f"model-agent-{node}",
        ),
    )
    root = args.local_dir.absolute() / "models" / node
    root.mkdir(parents=True, exist_ok=True)
    setup_agent(
        manager,
        AgentSettings(
            node_name=node,
            models_root=root,
            namespace=options.operator_namespace,
            simulate=not args.real_downloads,
            model_metadata=args.model_metadata.absolute() if args.model_metadata else None,
        ),
        hf=HfSettings(endpoint=args.hf_endpoint),
    )
    return manager


def _hints(kubeconfig: Path, elapsed: float) -> str:
    kubectl = Path(sys.executable).parent / "kubectl"
    command = str(kubectl) if kubectl.exists() else "kubectl"
    return (
        f"ome is running on the local control plane (ready in {elapsed:.1f}s). In another shell:\n"
        f"  export KUBECONFIG={kubeconfig}\n"
        f"  {command} get nodes -L nvidia.com/gpu.count\n"
        f"  {command} apply -f <model.yaml> -f <runtime.yaml> -f <inferenceservice.yaml>\n"
        f"  {command} get isvc,basemodels,clusterbasemodels\n"
        f"  ome status isvc NAME -n NAMESPACE\n"
        "Ctrl-C stops the operator, the model agents and the control plane."
    )
