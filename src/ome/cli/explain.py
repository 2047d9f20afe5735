"""``ome explain -f PATH... --catalog DIR...``: which runtime would serve each
InferenceService, and why every other runtime would or would not (offline).

The catalogue is every BaseModel, ClusterBaseModel, ServingRuntime,
ClusterServingRuntime, FineTunedWeight and AcceleratorClass in the ``--catalog`` paths and
in the ``-f`` paths. For each
InferenceService in the ``-f`` paths it prints the model, the runtime (or the reason there
is none, as the controller would report it), one line per candidate: ``+`` for an
eligible runtime (the selected one first, then in rank order), ``-`` for the others, and
how each component would be deployed (a Deployment, or a LeaderWorkerSet of groups of a
leader and workers) and on which AcceleratorClass, and why, or why the service cannot be
served with that runtime; then a summary line. Exits 1 when a service gets no runtime or
cannot be served."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import yaml

from ome.api.documents import Document, manifest_files, read_documents
from ome.api.meta import ApiObject
from ome.api.v1beta1 import KINDS, InferenceService
from ome.api.validation import Outcome, validate_object
from ome.cli import model_metadata
from ome.cli.arguments import add_filename_argument
from ome.serving import (
    Candidate,
    MemoryCatalog,
    SelectionError,
    ServingConfig,
    ServingError,
    Workload,
    parse_config,
    plan_service,
    resolve_base_model,
    select_runtime,
)
from ome.serving.adapters import FineTuning
from ome.serving.catalog import Model, name_of
from ome.serving.matching import format_label
from ome.serving.podspec import GPU_RESOURCE

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
    model_metadata.add_arguments(parser)


def read_inputs(args: argparse.Namespace, notes: TextIO = sys.stderr) -> Inputs:
    """The services, catalogue and config the arguments name; exits on unreadable input.
    Objects skipped are noted on ``notes``."""
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
            print(f"{document.where}: {outcome.label}: skipped, invalid", file=notes)
    objects = model_metadata.with_metadata(objects, args)
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
    inputs = read_inputs(args, notes=sys.stdout)
    failed = 0
    unservable = 0
    for service in inputs.services:
        lines, verdict = explain(service, inputs.catalog, inputs.config)
        print("\n".join(lines))
        failed += verdict is Verdict.NO_RUNTIME
        unservable += verdict is Verdict.UNSERVABLE
    # on stdout, after the results: on stderr a reader merging the two streams could
    # place it before them, or glued to the last one
    print(
        f"{len(inputs.services)} services: {failed} without a runtime, "
        f"{unservable} not servable with theirs"
    )
    return 1 if failed or unservable else 0


class Verdict(Enum):
    SERVABLE = "servable"
    NO_RUNTIME = "no runtime"
    UNSERVABLE = "not servable with its runtime"


def explain(
    service: Service, catalog: MemoryCatalog, config: ServingConfig
) -> tuple[list[str], Verdict]:
    """The report on one service, and what became of it."""
    lines = [f"{service.label} ({service.where})"]
    if service.model is None:
        lines.append(f"  invalid: {'; '.join(service.problems)}")
        return lines, Verdict.NO_RUNTIME
    try:
        model = resolve_base_model(service.model, catalog)
        lines.append(f"  model: {_describe(model)}")
        selection = select_runtime(service.model, model, catalog)
    except SelectionError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        lines += _candidates(err.candidates)
        return lines, Verdict.NO_RUNTIME
    except ServingError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        return lines, Verdict.NO_RUNTIME
    how = "auto-selected" if selection.auto_selected else "named in spec.runtime"
    lines.append(f"  runtime: {selection.runtime.KIND} {selection.name} ({how})")
    lines += _candidates(selection.candidates)
    try:
        plan = plan_service(service.model, catalog, config)
    except ServingError as err:
        lines.append(f"  error: {err.reason}: {err.message}")
        return lines, Verdict.UNSERVABLE
    if plan.fine_tuning is not None:
        lines += _adapters(plan.fine_tuning)
    lines.append("  components:")
    for workload in plan.workloads:
        lines.append(f"    {workload.component}: {describe_workload(workload)}")
        if workload.accelerator is not None:
            chosen = workload.accelerator
            lines.append(f"      accelerator: {chosen.name} ({chosen.reason})")
    return lines, Verdict.SERVABLE


def describe_workload(workload: Workload) -> str:
    """How a component is deployed, e.g. ``MultiNode: LeaderWorkerSet lws-x-engine, 1 group
    of 2 pods (8 GPUs each)``."""
    ref = workload.object_ref
    text = f"{workload.mode}: {ref.kind} {ref.name}"
    if workload.multi_node:
        groups = "group" if workload.groups == 1 else "groups"
        text += f", {workload.groups} {groups} of {workload.group_size} pods"
    gpus = _gpus(workload.pod)
    return text + (f" ({gpus} GPUs each)" if gpus else "")


def _gpus(pod: dict[str, Any]) -> str:
    for container in pod.get("containers", []):
        limits = container.get("resources", {}).get("limits", {})
        if GPU_RESOURCE in limits:
            return str(limits[GPU_RESOURCE])
    return ""


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
    spec = model.spec
    known = (spec.model_format, spec.model_architecture, spec.model_framework, spec.quantization)
    # upstream's agent fills these from the model's config.json once it has fetched it
    facts = format_label(spec) if any(f is not None for f in known) else "no metadata yet"
    size = spec.model_parameter_size
    return f"{model.KIND} {name_of(model)} ({facts}{f', {size}' if size else ''})"


def _candidates(candidates: tuple[Candidate, ...]) -> list[str]:
    lines = [f"  candidates ({len(candidates)}):"] if candidates else []
    for candidate in candidates:
        mark = "+" if candidate.eligible else "-"
        lines.append(f"    {mark} {candidate.kind} {candidate.name}: {candidate.reason}")
    return lines
