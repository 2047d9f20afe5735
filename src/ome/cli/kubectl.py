"""``kubectl ome``: the kubectl plugin. Installed as the ``kubectl-ome`` command, which
kubectl finds on PATH and runs with the words after ``kubectl ome``, so
``kubectl ome status isvc NAME -n NS --context CTX -o yaml`` works as ``ome status`` does.
It offers the commands that read and explain (``status``, ``explain``, ``render``), not
those that run the operator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version

from ome.cli.main import DISTRIBUTION, register_inspection

VALUED_FLAGS = frozenset({"--kubeconfig", "--context", "-n", "--namespace", "-o", "--output"})
"""kubectl's flags, with a value, that the plugin's commands understand."""
SHORT_VALUED = frozenset(flag for flag in VALUED_FLAGS if len(flag) == 2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl ome",
        description="Inspect the objects of the ome operator: why a service is (not) Ready, "
        "which runtime would serve it, what the controller would create.",
    )
    parser.add_argument("--version", action="version", version=f"ome {version(DISTRIBUTION)}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_inspection(commands)
    return parser


def kubectl_order(argv: Sequence[str]) -> list[str]:
    """``argv`` with kubectl's flags that come before the command moved after it: kubectl
    takes ``kubectl ome -n NS status isvc NAME`` as well, while argparse reads a
    subcommand's options only after it."""
    leading: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        flag = word.split("=", 1)[0]
        if flag in VALUED_FLAGS and "=" not in word and index + 1 < len(argv):
            leading += argv[index : index + 2]
            index += 2
        elif flag in VALUED_FLAGS or (word[:2] in SHORT_VALUED and len(word) > 2):
            leading.append(word)  # --flag=value, or -nVALUE / -ojson
            index += 1
        else:
            break
    return [*argv[index:], *leading]


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(kubectl_order(words))
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
