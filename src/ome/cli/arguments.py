"""Command-line arguments shared by several ``ome`` commands."""

from __future__ import annotations

import argparse


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
