"""The fake nodes of ``ome run --local`` and ``ome local up``: alike nodes from three flags,
or groups from repeatable ``--node-group`` flags, never both."""

from __future__ import annotations

import argparse

import pytest

from ome.cli.arguments import add_node_arguments, describe_nodes, node_groups
from ome.testing.nodes import NodeGroup


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_node_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_are_two_nodes_of_eight_gpus() -> None:
    assert node_groups(parse()) == [NodeGroup(2, 8, "NVIDIA-H100-80GB-HBM3")]


def test_alike_nodes_from_the_three_flags() -> None:
    args = parse("--nodes", "4", "--gpus-per-node", "4", "--gpu-product", "NVIDIA-A10G")
    assert node_groups(args) == [NodeGroup(4, 4, "NVIDIA-A10G")]
    assert node_groups(parse("--gpus", "2")) == [NodeGroup(2, 2)]


def test_node_groups_replace_the_three_flags() -> None:
    args = parse("--node-group", "4x8", "--node-group", "2x4:NVIDIA-A10G")
    assert node_groups(args) == [NodeGroup(4, 8), NodeGroup(2, 4, "NVIDIA-A10G")]
    with pytest.raises(SystemExit, match="--node-group replaces --nodes, --gpu-product"):
        node_groups(parse("--node-group", "4x8", "--nodes", "2", "--gpu-product", "X"))


def test_bad_values_exit_with_the_flag_and_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="--nodes/--gpus-per-node/--gpu-product: a node group"):
        node_groups(parse("--nodes", "0"))
    with pytest.raises(SystemExit):
        parse("--node-group", "eight")
    expected = "argument --node-group: 'eight' is not COUNTxGPUS[:PRODUCT[:INSTANCE-TYPE]]"
    assert expected in capsys.readouterr().err


def test_description() -> None:
    groups = [NodeGroup(2, 8), NodeGroup(1, 4, "NVIDIA-A10G", "VM.GPU.A10.4")]
    assert describe_nodes(groups) == (
        "2 nodes with 8 NVIDIA-H100-80GB-HBM3 GPUs each"
        " + 1 node with 4 NVIDIA-A10G GPUs (VM.GPU.A10.4)"
    )
