"""Which runtime serves an InferenceService (upstream's ``pkg/runtimeselector``).

A runtime named in ``spec.runtime`` must exist (the namespace's ServingRuntime first, then
the ClusterServingRuntime), be enabled and be compatible with the model; it need not be
auto-selectable. Without a name, every runtime is a candidate and the winner is the first
in this order:

1. namespace-scoped runtimes before cluster-scoped ones (whatever their scores);
2. higher score (see :func:`ome.serving.matching.runtime_score`);
3. when the model gives its size, the size range closer to it (the sum of the distances
   to both bounds; a runtime without a range counts 0);
4. name, ascending.

A candidate must be enabled, support the required accelerator classes, match one of its
supported formats and the size range, have an entry with ``autoSelect: true``, and score
above 0. Every candidate's verdict is kept, for ``ome explain`` and for the message when
nothing matches."""

from __future__ import annotations

from dataclasses import dataclass

from ome.api.v1beta1 import BaseModelSpec, ClusterServingRuntime, InferenceService
from ome.serving.catalog import Catalog, Model, Runtime, find_runtime, name_of, service_namespace
from ome.serving.matching import (
    auto_selectable,
    format_label,
    incompatibility,
    required_accelerator_classes,
    runtime_score,
    serves_format_of,
    size_distance,
)
from ome.serving.problems import Reason, ServingError

_NEAREST_NAMED = 3  # nearly-matching runtimes named in the no-runtime message


@dataclass(frozen=True)
class Candidate:
    """One runtime's verdict: eligible or not, its score, and why."""

    runtime: Runtime
    eligible: bool
    score: int
    reason: str
    nearness: int = 0
    """How close an ineligible runtime came: 2 when it is compatible but cannot be
    auto-selected, 1 when it serves the model's format and architecture, else 0."""

    @property
    def name(self) -> str:
        return name_of(self.runtime)

    @property
    def kind(self) -> str:
        return self.runtime.KIND


@dataclass(frozen=True)
class Selection:
    runtime: Runtime
    auto_selected: bool
    """False when the service named the runtime."""
    candidates: tuple[Candidate, ...]
    """Eligible runtimes in rank order (the winner first), then the others: namespace-scoped
    before cluster-scoped, the nearest first, then by name."""

    @property
    def name(self) -> str:
        return name_of(self.runtime)


class SelectionError(ServingError):
    """No runtime: the reason, and every candidate's verdict."""

    def __init__(self, reason: Reason, message: str, candidates: tuple[Candidate, ...]) -> None:
        super().__init__(reason, message)
        self.candidates = candidates


def select_runtime(service: InferenceService, model: Model, catalog: Catalog) -> Selection:
    """The runtime for the service and its resolved model; :class:`SelectionError` (a
    :class:`ServingError`) with a specific reason otherwise.

    A model without its format is reported before anything about a named runtime (even
    one that does not exist), as upstream's ``ValidateRuntime`` checks the model first."""
    _require_format(model)
    ref = service.spec.runtime
    if ref is not None and ref.name:
        return _named(service, model, catalog, ref.name)
    return _auto(service, model, catalog)


def _require_format(model: Model) -> None:
    if model.spec.model_format is None or not model.spec.model_format.name:
        raise SelectionError(
            Reason.MODEL_FORMAT_MISSING,
            f"model {name_of(model)!r} has no spec.modelFormat.name yet (the model agent "
            "fills it from config.json once the model is downloaded)",
            (),
        )


def _named(service: InferenceService, model: Model, catalog: Catalog, name: str) -> Selection:
    namespace = service_namespace(service)
    runtime = find_runtime(catalog, namespace, name)
    if runtime is None:
        raise SelectionError(
            Reason.RUNTIME_NOT_FOUND,
            f"runtime {name!r} not found in namespace {namespace!r} or at cluster scope",
            (),
        )
    if runtime.spec.disabled:
        candidate = Candidate(runtime, False, 0, "runtime is disabled")
        scope = "cluster-scoped" if isinstance(runtime, ClusterServingRuntime) else "namespaced"
        message = f"{scope} runtime {name!r} is disabled"
        raise SelectionError(Reason.RUNTIME_DISABLED, message, (candidate,))
    problem = incompatibility(runtime.spec, model.spec, required_accelerator_classes(service))
    if problem:
        candidate = Candidate(runtime, False, 0, problem)
        message = f"runtime {name!r} does not support model {name_of(model)!r}: {problem}"
        raise SelectionError(Reason.RUNTIME_INCOMPATIBLE, message, (candidate,))
    score = runtime_score(runtime.spec, model.spec)
    candidate = Candidate(runtime, True, score, "named in spec.runtime; compatible")
    return Selection(runtime, auto_selected=False, candidates=(candidate,))


def _auto(service: InferenceService, model: Model, catalog: Catalog) -> Selection:
    namespace = service_namespace(service)
    accelerators = required_accelerator_classes(service)
    scopes = (catalog.serving_runtimes(namespace), catalog.cluster_serving_runtimes())
    ranked: list[Candidate] = []
    rejected: list[Candidate] = []
    for runtimes in scopes:
        verdicts = [_judge(runtime, model.spec, accelerators) for runtime in runtimes]
        eligible = [v for v in verdicts if v.eligible]
        eligible.sort(key=lambda c: (-c.score, size_distance(c.runtime.spec, model.spec), c.name))
        ranked += eligible
        # the nearest first: they answer "why not that one?"
        rejected += sorted(
            (v for v in verdicts if not v.eligible), key=lambda c: (-c.nearness, c.name)
        )
    if not ranked:
        counts = (len(scopes[0]), len(scopes[1]))
        message = _no_runtime_message(service, model, rejected, counts)
        raise SelectionError(Reason.NO_SUPPORTING_RUNTIME, message, tuple(rejected))
    winner = ranked[0]
    explained = [Candidate(winner.runtime, True, winner.score, f"selected: {winner.reason}")]
    for runner_up in ranked[1:]:
        why = _behind(runner_up, winner, model.spec)
        explained.append(Candidate(runner_up.runtime, True, runner_up.score, why))
    candidates = (*explained, *rejected)
    return Selection(winner.runtime, auto_selected=True, candidates=candidates)


def _judge(runtime: Runtime, model: BaseModelSpec, accelerators: frozenset[str]) -> Candidate:
    problem = incompatibility(runtime.spec, model, accelerators)
    if problem is not None:
        nearness = int(not runtime.spec.disabled and serves_format_of(runtime.spec, model))
        return Candidate(runtime, False, 0, problem, nearness)
    if not auto_selectable(runtime.spec):
        problem = "runtime does not have auto-select enabled for any supported format"
        return Candidate(runtime, False, 0, problem, nearness=2)
    score = runtime_score(runtime.spec, model)
    if score <= 0:
        problem = "no format with autoSelect left unset or true scores for the model"
        return Candidate(runtime, False, 0, problem, nearness=2)
    return Candidate(runtime, True, score, f"score {score}")


def _behind(candidate: Candidate, winner: Candidate, model: BaseModelSpec) -> str:
    """Why an eligible runtime lost to the winner: the first ranking rule that differs."""
    if candidate.kind != winner.kind:
        return f"score {candidate.score}; a namespace-scoped runtime ({winner.name}) wins"
    if candidate.score != winner.score:
        return f"score {candidate.score}, lower than {winner.name}'s"
    distance = size_distance(candidate.runtime.spec, model)
    if distance != size_distance(winner.runtime.spec, model):
        return f"score {candidate.score}; size range farther from the model's than {winner.name}'s"
    return f"score {candidate.score}; same rank as {winner.name}, whose name sorts first"


def _no_runtime_message(
    service: InferenceService,
    model: Model,
    rejected: list[Candidate],
    counts: tuple[int, int],
) -> str:
    namespaced, cluster = counts
    message = (
        f"no runtime supports model {name_of(model)!r} ({format_label(model.spec)}) in "
        f"namespace {service_namespace(service)!r}: checked {namespaced + cluster} runtimes "
        f"({namespaced} namespace-scoped, {cluster} cluster-scoped)"
    )
    near = sorted((c for c in rejected if c.nearness), key=lambda c: -c.nearness)
    near = near[:_NEAREST_NAMED]
    if near:
        message += "; nearest: " + "; ".join(f"{c.name} ({c.reason})" for c in near)
    return message
