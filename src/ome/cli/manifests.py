"""``ome manifests crds``: write the CRDs of the ome.io API, generated from its models.

Full CRDs go to DIR (default manifests/crds; install with ``kubectl apply --server-side
-f DIR``), the minimal variant to DIR/minimal. ``--check`` writes nothing and exits 1
when the files differ from what the models give."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from ome.api.crd import MINIMAL_DIR, crd_files, render
from ome.api.v1beta1 import KINDS

DEFAULT_DIR = Path("manifests/crds")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def register(commands: Any) -> None:
    manifests = commands.add_parser("manifests", help="generate Kubernetes manifests")
    what = manifests.add_subparsers(dest="what", metavar="WHAT", required=True)
    text = "write the CRDs generated from the ome.io models"
    crds = what.add_parser("crds", help=text, description=text)
    crds.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"output folder (default {DEFAULT_DIR})"
    )
    crds.add_argument("--check", action="store_true", help="compare only; exit 1 on a drift")
    crds.set_defaults(handler=run)


def _generated_files(directory: Path) -> set[Path]:
    """The CRD files present in the output folders (to remove kinds that were dropped)."""
    folders = (directory, directory / MINIMAL_DIR)
    return {path for folder in folders for path in folder.glob("*_*.yaml")}


def run(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    wanted = {directory / name: document for name, document in crd_files(KINDS.values()).items()}
    stale = sorted(_generated_files(directory) - wanted.keys())
    if args.check:
        drifted = [
            path
            for path, document in wanted.items()
            if not path.exists() or yaml.load(path.read_text(), Loader=_Loader) != document
        ]
        for path in [*drifted, *stale]:
            print(f"{path}: out of date (run: ome manifests crds --dir {directory})")
        return 1 if drifted or stale else 0
    for path, document in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(document))
    for path in stale:
        path.unlink()
    print(f"wrote {len(wanted)} CRDs to {directory}" + (f", removed {len(stale)}" if stale else ""))
    return 0
