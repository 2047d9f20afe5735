"""``ome validate -f PATH...``: check manifests against the ome.io API offline.

Beyond the API types, the size texts of runtimes and models must be sizes as upstream
reads them (:func:`ome.serving.sizes.size_text_problems`).

Prints one line per object — ``file:line: Kind/name: OK``, ``... skipped`` (not an ome.io
object) or ``... invalid: path: problem; ...`` — and a summary line after them, on the same
stream (on stderr it could reach a reader that merges the two before the last result, or
glued to it). Exits 1 when an object is invalid or a file cannot be read."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ome.api.documents import manifest_files, read_documents
from ome.api.v1beta1 import KINDS
from ome.api.validation import Outcome, validate_object
from ome.cli.arguments import add_filename_argument
from ome.serving.sizes import size_text_problems

STDIN = "-"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check manifests against the ome.io API (offline)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_filename_argument(
        parser, "a file (multi-document YAML or JSON), a folder (searched recursively) or -"
    )
    parser.set_defaults(handler=run)


def _line(where: str, outcome: Outcome) -> str:
    if outcome.status == "valid":
        return f"{where}: {outcome.label}: OK"
    if outcome.status == "skipped":
        return f"{where}: {outcome.label}: skipped (not an ome.io object)"
    return f"{where}: {outcome.label}: invalid: {'; '.join(outcome.problems)}"


def _with_sizes(outcome: Outcome) -> Outcome:
    if outcome.model is None:
        return outcome
    problems = tuple(f"{field}: {problem}" for field, problem in size_text_problems(outcome.model))
    if not problems:
        return outcome
    return Outcome(outcome.kind, outcome.name, "invalid", problems)


def _read(path: str) -> str:
    return sys.stdin.read() if path == STDIN else Path(path).read_text()


def run(args: argparse.Namespace) -> int:
    tally: Counter[str] = Counter()
    unreadable = 0
    for source in (str(f) for path in args.paths for f in _expand(path)):
        try:
            for document in read_documents(_read(source), source):
                outcome = _with_sizes(validate_object(document.content, KINDS))
                tally[outcome.status] += 1
                print(_line(document.where, outcome))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            unreadable += 1
            print(f"{source}: error: {' '.join(str(err).split())}")
    counts = [f"{count} {status}" for status, count in sorted(tally.items())]
    summary = f"{tally.total()} objects" + (f": {', '.join(counts)}" if counts else "")
    if unreadable:
        summary += f"; {unreadable} unreadable file{'s' if unreadable > 1 else ''}"
    print(summary)
    return 1 if tally["invalid"] or unreadable else 0


def _expand(path: str) -> list[Path | str]:
    return [path] if path == STDIN else list(manifest_files([Path(path)]))
