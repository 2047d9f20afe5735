"""``ome agent``: the model agent of one node (run by the DaemonSet, or one per fake node
by ``ome run --local``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ome.agent.daemon import setup
from ome.agent.download import HfSettings, RetryPolicy, S3Settings
from ome.agent.node_agent import AgentSettings
from ome.cli import logs
from ome.cli.progress_bar import ProgressBars
from ome.client import Client, load_configuration
from ome.runtime import Manager, ManagerOptions
from ome.runtime import loop as event_loop


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "agent",
        help="the model agent of one node",
        description="Downloads the models meant for this node and reports them.",
    )
    parser.add_argument(
        "--node-name",
        default=os.environ.get("NODE_NAME"),
        help="this node's name (default $NODE_NAME)",
    )
    parser.add_argument("--models-root", type=Path, default=Path("/mnt/models"))
    parser.add_argument(
        "--pvc-root",
        type=Path,
        default=None,
        help="where claims are mounted as {namespace}/{claim}; unset: pvc:// models are skipped",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("POD_NAMESPACE", "ome"),
        help="namespace of the node status ConfigMaps (default $POD_NAMESPACE or ome)",
    )
    parser.add_argument(
        "--pod-name",
        default=os.environ.get("POD_NAME"),
        help="this agent's pod, whose DaemonSet then owns the node status ConfigMap "
        "(default $POD_NAME; unset outside a pod)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="downloads at once")
    parser.add_argument(
        "--retry-interval",
        type=float,
        default=10.0,
        help="seconds before a failed model is tried again, doubling up to 5 minutes",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="fetch only the models' metadata files, not their weights (for fake nodes)",
    )
    parser.add_argument(
        "--model-metadata",
        type=Path,
        default=None,
        metavar="DIR",
        help="model metadata to use instead of fetching it (with --simulate): "
        "DIR/{model name}/config.json or DIR/hf/{org}/{model}/config.json",
    )
    parser.add_argument("--hf-endpoint", default=None, help="Hugging Face Hub URL ($HF_ENDPOINT)")
    parser.add_argument(
        "--s3-endpoint", default=None, help="S3 API URL ($AWS_ENDPOINT_URL, else AWS)"
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bars", "log"),
        default="auto",
        help="how downloads show their progress besides the status: bars on stderr, or "
        "log lines only (default: bars when stderr is a terminal)",
    )
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig (default: in-cluster)")
    parser.add_argument("--metrics-address", default=":8080")
    parser.add_argument("--probe-address", default=":8081", help="/healthz and /readyz")
    logs.add_arguments(parser, default_format="json")
    parser.set_defaults(handler=run)


def settings_from(args: argparse.Namespace) -> AgentSettings:
    if not args.node_name:
        raise SystemExit("error: --node-name (or $NODE_NAME) is required")
    try:
        return AgentSettings(
            node_name=args.node_name,
            models_root=args.models_root.absolute(),
            namespace=args.namespace,
            pod_name=args.pod_name or None,
            pvc_root=args.pvc_root.absolute() if args.pvc_root else None,
            concurrency=args.concurrency,
            simulate=args.simulate,
            model_metadata=args.model_metadata.absolute() if args.model_metadata else None,
            retry=RetryPolicy(
                attempts=1,
                base_delay=args.retry_interval,
                max_delay=max(300.0, args.retry_interval),
            ),
        )
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    bars = _progress_bars(args.progress)
    # Log lines go to stdout: on the bars' terminal they must erase the bars first.
    erase = bars.erase if bars is not None and sys.stdout.isatty() else None
    logs.configure(args.log_level, args.log_format, before_line=erase)
    settings.models_root.mkdir(parents=True, exist_ok=True)
    event_loop.run(_serve(args, settings, bars))
    return 0


def _progress_bars(choice: str) -> ProgressBars | None:
    if choice == "bars" or (choice == "auto" and sys.stderr.isatty()):
        return ProgressBars(sys.stderr)
    return None


async def _serve(
    args: argparse.Namespace, settings: AgentSettings, bars: ProgressBars | None
) -> None:
    client = Client(await load_configuration(args.kubeconfig))
    options = ManagerOptions(
        metrics_address=args.metrics_address,
        probe_address=args.probe_address,
        identity=f"model-agent-{settings.node_name}",
    )
    manager = Manager(client, options)
    setup(
        manager,
        settings,
        hf=HfSettings(endpoint=args.hf_endpoint),
        s3=S3Settings(endpoint=args.s3_endpoint),
        progress_display=bars,
    )
    await manager.run()
