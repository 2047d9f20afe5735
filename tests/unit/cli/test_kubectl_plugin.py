"""``kubectl ome``: kubectl's flags, before or after the command, reach ``ome status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml

from ome.cli.kubectl import build_parser, kubectl_order
from ome.cli.status import formatted
from ome.controllers.basemodel.reports import NodeReport


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "isvc", "x", "-n", "ns"], ["status", "isvc", "x", "-n", "ns"]),
        (["-n", "ns", "status", "isvc", "x"], ["status", "isvc", "x", "-n", "ns"]),
        (
            ["--context=c", "--kubeconfig", "k", "-ojson", "status", "isvc", "x"],
            ["status", "isvc", "x", "--context=c", "--kubeconfig", "k", "-ojson"],
        ),
        (["-nns", "render", "-f", "s.yaml"], ["render", "-f", "s.yaml", "-nns"]),
        (["--help"], ["--help"]),
    ],
)
def test_kubectl_flags_before_the_command_move_after_it(
    argv: list[str], expected: list[str]
) -> None:
    assert kubectl_order(argv) == expected


def test_status_takes_kubectls_flags_in_either_place() -> None:
    parser = build_parser()
    for argv in (
        [
            "status",
            "isvc",
            "svc",
            "-n",
            "ns",
            "--context",
            "ctx",
            "--kubeconfig",
            "k",
            "-o",
            "json",
        ],
        ["--namespace=ns", "--context", "ctx", "status", "isvc", "svc", "--kubeconfig=k", "-ojson"],
    ):
        args = parser.parse_args(kubectl_order(argv))
        assert (args.name, args.namespace, args.context, args.kubeconfig, args.output) == (
            "svc",
            "ns",
            "ctx",
            "k",
            "json",
        )
    args = parser.parse_args(["status", "model", "m"])
    assert (args.context, args.kubeconfig, args.output) == (None, None, None)


def test_only_the_commands_that_inspect_are_offered() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["run"])
    with pytest.raises(SystemExit):
        parser.parse_args(["status", "isvc", "x", "-o", "wide"])
    assert parser.parse_args(["render", "-f", "s.yaml", "-o", "json"]).output == "json"


def test_output_prints_what_was_read_as_json_or_yaml() -> None:
    observed = {
        "model": {"metadata": {"name": "m"}},
        "reports": [NodeReport("gpu-0", "Ready", "")],
        "when": datetime(2026, 1, 2, tzinfo=UTC),
    }
    as_json = json.loads(formatted(observed, "json"))
    assert as_json["reports"][0]["node"] == "gpu-0"
    assert as_json["when"] == "2026-01-02 00:00:00+00:00"
    assert yaml.safe_load(formatted(observed, "yaml")) == as_json
