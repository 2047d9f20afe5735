"""Command-line arguments shared by several ``ome`` commands."""

from __future__ import annotations

import argparse
from typing import Any

from ome.testing.nodes import DEFAULT_GPU_PRODUCT, NodeGroup

DEFAULT_NODES = 2
DEFAULT_GPUS = 8


def add_filename_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``-f/--filename PATH...`` (repeatable, kubectl-style) into ``args.paths``."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        required=True,
        metavar="PATH",
        help=help,
    )


def add_node_arguments(group: Any) -> None:
    """The fake GPU nodes of a local cluster: ``--nodes N --gpus-per-node G --gpu-product P``
    for alike nodes, or one repeatable ``--node-group COUNTxGPUS[:PRODUCT[:INSTANCE-TYPE]]``
    per kind."""
    group.add_argument(
        "--nodes", type=int, default=None, metavar="N", help="fake GPU nodes (default 2)"
    )
    group.add_argument(
        "--gpus-per-node",
        "--gpus",
        dest="gpus_per_node",
        type=int,
        default=None,
        metavar="G",
        help="nvidia.com/gpu of each node (default 8)",
    )
    group.add_argument(
        "--gpu-product",
        default=None,
        metavar="PRODUCT",
        help=f"their nvidia.com/gpu.product label (default {DEFAULT_GPU_PRODUCT})",
    )
    group.add_argument(
        "--node-group",
        dest="node_groups",
        action="append",
        type=_node_group,
        default=[],
        metavar="COUNTxGPUS[:PRODUCT[:INSTANCE-TYPE]]",
        help="a group of alike nodes, e.g. 2x8:NVIDIA-A100-SXM4-80GB, labelled "
        "node.kubernetes.io/instance-type=INSTANCE-TYPE when given (repeatable; instead of "
        "--nodes, --gpus-per-node and --gpu-product)",
    )


def node_groups(args: argparse.Namespace) -> list[NodeGroup]:
    """The node groups the arguments ask for; exits with the reason on a bad combination."""
    if args.node_groups:
        alike = (
            ("--nodes", args.nodes),
            ("--gpus-per-node", args.gpus_per_node),
            ("--gpu-product", args.gpu_product),
        )
        given = [flag for flag, value in alike if value is not None]
        if given:
            raise SystemExit(
                f"error: --node-group replaces {', '.join(given)}: use one or the other"
            )
        groups: list[NodeGroup] = args.node_groups
        return groups
    try:
        return [
            NodeGroup(
                DEFAULT_NODES if args.nodes is None else args.nodes,
                DEFAULT_GPUS if args.gpus_per_node is None else args.gpus_per_node,
                args.gpu_product or DEFAULT_GPU_PRODUCT,
            )
        ]
    except ValueError as err:
        raise SystemExit(f"error: --nodes/--gpus-per-node/--gpu-product: {err}") from None


def describe_nodes(groups: list[NodeGroup]) -> str:
    """``2 nodes with 8 NVIDIA-H100-80GB-HBM3 GPUs each``, one such phrase per group."""
    return " + ".join(
        f"{g.count} node{'s' if g.count > 1 else ''} with {g.gpus} {g.product} GPUs"
        + (" each" if g.count > 1 else "")
        + (f" ({g.instance_type})" if g.instance_type else "")
        for g in groups
    )


def _node_group(text: str) -> NodeGroup:
    try:
        return NodeGroup.parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
