"""Entry point of the ``ome`` command: parses the command line and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from ome.cli import (
    agent,
    explain,
    local,
    manifests,
    render,
    run,
    status,
    status_dac,
    status_ftw,
    status_model,
    validate,
)
from ome.runtime import loop as event_loop

DISTRIBUTION = "ome-operator"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ome", description="Operator for serving large language models on Kubernetes."
    )
    parser.add_argument("--version", action="version", version=f"ome {version(DISTRIBUTION)}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    local.register(commands)
    run.register(commands)
    agent.register(commands)
    validate.register(commands)
    manifests.register(commands)
    register_inspection(commands)
    return parser


def register_inspection(commands: Any) -> None:
    """The commands that read objects and explain them, shared with ``kubectl ome``:
    ``explain``, ``render`` and ``status KIND``."""
    explain.register(commands)
    render.register(commands)
    kinds = status.register(commands)
    status_model.register(kinds)
    status_ftw.register(kinds)
    status_dac.register(kinds)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.handler in (run.run, agent.run):
        # before the command configures logging or starts anything
        try:
            event_loop.loop_factory()
        except event_loop.UnknownLoop as err:
            raise SystemExit(f"error: {err}") from None
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
