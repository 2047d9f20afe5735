"""``ome explain -f PATH... --catalog DIR...``: which runtime would serve each
InferenceService, and why every other runtime would or would not (offline).

The catalogue is every BaseModel, ClusterBaseModel, ServingRuntime and
ClusterServingRuntime in the ``--catalog`` paths and in the ``-f`` paths. For each
InferenceService in the ``-f`` paths it prints the model, the runtime (or the reason there
is none, as the controller would report it) and one line per candidate: ``+`` for an
eligible runtime (the selected one first, then in rank order), ``-`` for the others.
Exits 1 when a service gets no runtime."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ome.api.documents import Document, manifest_files, read_documents
from ome.api.meta import ApiObject
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import Outcome, validate_object
from ome.cli.arguments import add_filename_argument
from ome.serving import (
    Candidate,
    MemoryCatalog,
    SelectionError,
    ServingConfig,
    ServingError,
    parse_config,
    resolve_base_model,
    select_runtime,
)
from ome.serving.adapters import FineTuning, resolve_fine_tuning
from ome.serving.catalog import Model, name_of
from ome.serving.matching import format_label

STDIN = "-"


@dataclass(frozen=True)
class Service:
    """An InferenceService read from a file, or why it could not be."""

    where: str
    label: str
    model: InferenceService | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inputs:
    services: list[Service]
    catalog: MemoryCatalog
    config: ServingConfig


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "explain",
        help="show which runtime would serve each InferenceService, and why (offline)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_input_arguments(parser)
    parser.set_defaults(handler=run)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    add_filename_argument(
        parser, "InferenceServices (and models and runtimes): files, folders or -"
    )
    parser.add_argument(
        "--catalog",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="models and runtimes: files or folders (searched recursively)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the inferenceservice-config ConfigMap (default: upstream's shipped values)",
    )


def read_inputs(args: argparse.Namespace) -> Inputs:
    """The services, catalogue and config the arguments name; exits on unreadable input."""
    services: list[Service] = []
    objects: list[ApiObject] = []
    service_sources = _sources(args.paths)
    for document, outcome in _documents([*args.paths, *args.catalog]):
        if outcome.kind == InferenceService.KIND and document.source in service_sources:
            label = f"InferenceService {_qualified(document.content)}"
            model = outcome.model if isinstance(outcome.model, InferenceService) else None
            services.append(Service(document.where, label, model, outcome.problems))
        elif outcome.model is not None:
            objects.append(outcome.model)
        elif outcome.status == "invalid":
            print(f"{document.where}: {outcome.label}: skipped, invalid", file=sys.stderr)
    return Inputs(services, MemoryCatalog.of(objects), _config(args.config))


def _documents(paths: list[str]) -> Iterator[tuple[Document, Outcome]]:
    for source in (str(f) for path in paths for f in _expand(path)):
        try:
            text = sys.stdin.read() if source == STDIN else Path(source).read_text()
            for document in read_documents(text, source):
                yield document, validate_object(document.content, KINDS)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            sys.exit(f"{source}: error: {' '.join(str(err).split())}")


def _expand(path: str) -> list[Path | str]:
    return [path] if path == STDIN else list(manifest_files([Path(path)]))


def _sources(paths: list[str]) -> set[str]:
    return {str(f) for path in paths for f in _expand(path)}


def _qualified(content: Any) -> str:
    metadata = content.get("metadata") if isinstance(content, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or '?'}"


def _config(path: Path | None) -> ServingConfig:
    if path is None:
        return parse_config(None)
    try:
        configmap = yaml.safe_load(path.read_text())
        return parse_config((configmap or {}).get("data") or {})
    except (OSError, yaml.YAMLError, AttributeError) as err:
        sys.exit(f"{path}: error: {' '.join(str(err).split())}")
    except ServingError as err:
        sys.exit(f"{path}: {err}")


def run(args: argparse.Namespace) -> int:
    inputs = read_inputs(args)
    failed = 0
    for service in inputs.services:
        lines, ok = explain(service, inputs.catalog)
        print("\n".join(lines))
        failed += not ok
    print(f"{len(inputs.services)} services: {failed} without a runtime", file=sys.stderr)
    return 1 if failed else 0


def explain(service: Service, catalog: MemoryCatalog) -> tuple[list[str], bool]:
    """The report on one service, and whether it got a runtime."""
    lines = [f"{service.label} ({service.where})"]
    if service.model is None:
        lines.append(f"  invalid: {'; '.join(service.problems)}")
        return lines, False
    try:
        model = resolve_base_model(service.model, catalog)
        lines.append(f"  model: {_describe(model)}")
        selection = select_runtime(service.model, model, catalog)
    except SelectionError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        lines += _candidates(err.candidates)
        return lines, False
    except ServingError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        return lines, False
    how = "auto-selected" if selection.auto_selected else "named in spec.runtime"
    lines.append(f"  runtime: {selection.runtime.KIND} {selection.name} ({how})")
    lines += _candidates(selection.candidates)
    try:
        fine_tuning = resolve_fine_tuning(service.model, model, catalog)
    except ServingError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        return lines, False
    if fine_tuning is not None:
        lines += _adapters(fine_tuning)
    return lines, True


def _adapters(fine_tuning: FineTuning) -> list[str]:
    if fine_tuning.merged:
        (weight,) = fine_tuning.adapters
        return [f"  merged weights: {weight.name} at {weight.path} (served instead of the model)"]
    lines = [f"  adapters ({len(fine_tuning.adapters)}):"]
    for adapter in fine_tuning.adapters:
        rank = f", rank {adapter.rank}" if adapter.rank is not None else ""
        lines.append(f"    {adapter.name} at {adapter.path}{rank}")
    return lines


def _describe(model: Model) -> str:
    size = model.spec.model_parameter_size
    return (
        f"{model.KIND} {name_of(model)} ({format_label(model.spec)}{f', {size}' if size else ''})"
    )


def _candidates(candidates: tuple[Candidate, ...]) -> list[str]:
    lines = [f"  candidates ({len(candidates)}):"] if candidates else []
    for candidate in candidates:
        mark = "+" if candidate.eligible else "-"
        lines.append(f"    {mark} {candidate.kind} {candidate.name}: {candidate.reason}")
    return lines
