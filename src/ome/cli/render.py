"""``ome render -f PATH... --catalog DIR...``: print the objects the controller would apply
for each InferenceService (offline), as a YAML stream (or ``-o json``: a JSON list).

Inputs are read as ``ome explain`` reads them. Objects are those of the steady state, with
every component available (so the Ingress, when enabled, is included) and no owner
reference (the service has no UID yet). A service that cannot be served is reported on
stderr with the reason the controller would give; the command then exits 1."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from ome.cli.explain import add_input_arguments, read_inputs
from ome.serving import ServingError, plan_service, render_objects


class _Dumper(yaml.SafeDumper):
    """Writes repeated values in full: manifests are read by people and by kubectl."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "render",
        help="print the objects the controller would create for InferenceServices (offline)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_input_arguments(parser)
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    inputs = read_inputs(args)
    objects: list[Any] = []
    failed = 0
    for service in inputs.services:
        if service.model is None:
            print(
                f"{service.where}: {service.label}: invalid: {'; '.join(service.problems)}",
                file=sys.stderr,
            )
            failed += 1
            continue
        try:
            objects += render_objects(plan_service(service.model, inputs.catalog, inputs.config))
        except ServingError as err:
            print(f"{service.where}: {service.label}: {err.reason}: {err.message}", file=sys.stderr)
            failed += 1
    if args.output == "json":
        print(json.dumps(objects, indent=2, sort_keys=True))
    elif objects:
        print(yaml.dump_all(objects, Dumper=_Dumper, sort_keys=True), end="")
    return 1 if failed else 0
