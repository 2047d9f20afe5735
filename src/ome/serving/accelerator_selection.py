"""Which AcceleratorClass an engine or decoder runs on, and why (upstream
``pkg/acceleratorclassselector``; ome-spec §5).

Only a runtime that lists ``acceleratorRequirements.acceleratorClasses`` gets a class.
The class is named by the component's ``acceleratorOverride.acceleratorClass``, else
``spec.acceleratorSelector.acceleratorClass``, else the annotation
``ome.io/accelerator-class`` (which runtime selection already requires the runtime to
support; upstream reads it there only). Otherwise the policy (the component's
``acceleratorOverride.policy``, else ``spec.acceleratorSelector.policy``; none: no class,
as upstream) picks among the runtime's classes, in its order, those that exist and meet
``spec.acceleratorSelector.constraints`` and the model's memory need:

- ``FirstAvailable``: the first;
- ``BestFit``: the highest 0.7 * memory fit (1 / (memory / ``minMemory``)) + 0.3 *
  compute (TFLOPS of the first preferred precision that has some, halved per precision
  passed over, / ``minComputePerformanceTFLOPS``, at most 1);
- ``Cheapest``: the lowest ``spotPerHour`` (else ``perHour``), else ``perMillionTokens``,
  else cost tier (low, medium, high);
- ``MostCapable``: the highest 0.5 * memory + 0.3 * bandwidth + 0.2 * TFLOPS, each
  relative to the largest among the candidates.

Ties go to the runtime's order (upstream sorts unstably). The memory need: with a
``minMemoryPerBillionParams`` in the runtime's ``acceleratorConfig`` for the class (of
its best-scoring format for the model), the model's billions of parameters times that
many GiB must fit in the class's ``memoryGB`` times the accelerators of its tensor *
pipeline parallelism (1 each when not given); upstream declares the field and reads it
nowhere. A named class is refused when it does not exist (``AcceleratorClassNotFound``)
or the model does not fit it; no candidate left is ``NoAcceleratorClassFits`` with each
class's reason (upstream then selects nothing and serves without a class)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ome.api.v1beta1 import AcceleratorClass, BaseModelSpec, InferenceService, ServingRuntimeSpec
from ome.api.v1beta1.acceleratorclass import Performance
from ome.api.v1beta1.component import AcceleratorConstraints, AcceleratorSelector
from ome.api.v1beta1.servingruntime import AcceleratorModelConfig, SupportedModelFormat
from ome.serving.catalog import Catalog
from ome.serving.components import Component
from ome.serving.matching import ACCELERATOR_CLASS_ANNOTATION, format_score
from ome.serving.problems import Reason, ServingError
from ome.serving.quantity import gibibytes, parse_quantity
from ome.serving.sizes import parse_size

FIRST_AVAILABLE, BEST_FIT, CHEAPEST, MOST_CAPABLE = (
    "FirstAvailable",
    "BestFit",
    "Cheapest",
    "MostCapable",
)
_TIERS = {"low": 1, "medium": 2, "high": 3}
_PRECISIONS = {
    "fp32": "fp32_tflops",
    "fp16": "fp16_tflops",
    "int8": "int8_tops",
    "fp8": "int8_tops",
    "int4": "int4_tops",
}


@dataclass(frozen=True)
class AcceleratorChoice:
    """The class a component runs on, the runtime's settings for it, and why."""

    name: str
    accelerator_class: AcceleratorClass
    reason: str
    config: AcceleratorModelConfig | None = None


def supported_format(
    runtime: ServingRuntimeSpec, model: BaseModelSpec, *, auto_selected: bool
) -> SupportedModelFormat | None:
    """The runtime's best-scoring format entry for the model, among those with
    ``autoSelect: true`` unless the service named the runtime (upstream
    ``GetSupportedModelFormat``: the first of the highest score above 0)."""
    best, best_score = None, 0
    for entry in runtime.supported_model_formats or ():
        if auto_selected and entry.auto_select is not True:
            continue
        score = format_score(model, entry)
        if score > best_score:
            best, best_score = entry, score
    return best


def choose_accelerator(
    service: InferenceService,
    component: Component,
    runtime: ServingRuntimeSpec,
    model: BaseModelSpec,
    catalog: Catalog,
    *,
    auto_selected: bool,
) -> AcceleratorChoice | None:
    """The engine's or decoder's class (None: the pods are built without one)."""
    requirements = runtime.accelerator_requirements
    if component is Component.ROUTER or requirements is None:
        return None
    if not requirements.accelerator_classes:
        return None
    entry = supported_format(runtime, model, auto_selected=auto_selected)
    configs = (entry.accelerator_config if entry is not None else None) or {}
    named = _named(service, component)
    if named is not None:
        name, source = named
        found = catalog.accelerator_class(name)
        if found is None:
            raise ServingError(
                Reason.ACCELERATOR_CLASS_NOT_FOUND,
                f"{source} names AcceleratorClass {name!r}, which does not exist",
            )
        problem = _memory_problem(found, configs.get(name), model)
        if problem is not None:
            raise ServingError(
                Reason.NO_ACCELERATOR_CLASS_FITS, f"{source} names {name!r}, but {problem}"
            )
        return AcceleratorChoice(name, found, f"named by {source}", configs.get(name))
    policy, source = _policy(service, component)
    if policy is None:
        return None
    selector = service.spec.accelerator_selector
    constraints = (selector.constraints if selector else None) or AcceleratorConstraints()
    candidates, refused = [], []
    for name in dict.fromkeys(requirements.accelerator_classes):
        found = catalog.accelerator_class(name)
        problem = (
            "does not exist"
            if found is None
            else _constraint_problem(found, constraints)
            or _memory_problem(found, configs.get(name), model)
        )
        if problem is None and found is not None:
            candidates.append(found)
        else:
            refused.append(f"{name}: {problem}")
    if not candidates:
        raise ServingError(
            Reason.NO_ACCELERATOR_CLASS_FITS,
            f"no accelerator class of the runtime meets {source} {policy}'s constraints "
            f"and the model's memory: {'; '.join(refused)}",
        )
    if len(candidates) == 1:
        winner, why = candidates[0], "the only class of the runtime that qualifies"
    else:
        winner, why = _POLICIES[policy](candidates, constraints)
    name = winner.metadata.name or ""
    others = [c.metadata.name or "" for c in candidates if c is not winner]
    reason = f"policy {policy} ({source}): {why}"
    if others:
        reason += f"; also eligible: {', '.join(others)}"
    if refused:
        reason += f"; not eligible: {'; '.join(refused)}"
    return AcceleratorChoice(name, winner, reason, configs.get(name))


def _selectors(
    service: InferenceService, component: Component
) -> list[tuple[AcceleratorSelector, str]]:
    own = getattr(service.spec, str(component))
    found = []
    if own is not None and own.accelerator_override is not None:
        found.append((own.accelerator_override, f"spec.{component}.acceleratorOverride"))
    if service.spec.accelerator_selector is not None:
        found.append((service.spec.accelerator_selector, "spec.acceleratorSelector"))
    return found


def _named(service: InferenceService, component: Component) -> tuple[str, str] | None:
    for selector, source in _selectors(service, component):
        if selector.accelerator_class:
            return selector.accelerator_class, f"{source}.acceleratorClass"
    annotation = (service.metadata.annotations or {}).get(ACCELERATOR_CLASS_ANNOTATION)
    if annotation:
        return annotation, f"annotation {ACCELERATOR_CLASS_ANNOTATION}"
    return None


def _policy(service: InferenceService, component: Component) -> tuple[str | None, str]:
    for selector, source in _selectors(service, component):
        if selector.policy:
            return selector.policy, f"{source}.policy"
    return None, ""


def memory_gib(accelerator_class: AcceleratorClass) -> int | None:
    memory = accelerator_class.spec.capabilities.memory_gb
    return gibibytes(memory) if memory is not None else None


def _constraint_problem(
    accelerator_class: AcceleratorClass, constraints: AcceleratorConstraints
) -> str | None:
    """Why the class fails the service's hard constraints (upstream ``meetsRequirements``);
    TFLOPS and precisions only score."""
    spec, name = accelerator_class.spec, accelerator_class.metadata.name
    if name in (constraints.excluded_classes or ()):
        return "excluded by constraints.excludedClasses"
    if constraints.architecture_families:
        family = (spec.family or "").lower()
        vendor_family = f"{(spec.vendor or '').lower()}-{family}"
        allowed = [f.lower() for f in constraints.architecture_families]
        if not any(f == (vendor_family if "-" in f else family) for f in allowed):
            return f"architecture family {family!r} is not in constraints.architectureFamilies"
    if constraints.min_memory is not None or constraints.max_memory is not None:
        memory = memory_gib(accelerator_class)
        if memory is None:
            return "gives no capabilities.memoryGB for the memory constraints"
        if constraints.min_memory is not None and memory < constraints.min_memory:
            return f"memory {memory}GiB < constraints.minMemory {constraints.min_memory}GiB"
        if constraints.max_memory is not None and memory > constraints.max_memory:
            return f"memory {memory}GiB > constraints.maxMemory {constraints.max_memory}GiB"
    features = {f.lower() for f in spec.capabilities.features or ()}
    for required in constraints.required_features or ():
        if required.lower() not in features:
            return f"lacks required feature {required!r}"
    if constraints.min_architecture_version is not None:
        have = spec.capabilities.compute_capability
        if not have:
            return "gives no capabilities.computeCapability for minArchitectureVersion"
        # compared as text, as upstream ("8.0" < "9.0")
        if have < constraints.min_architecture_version:
            wanted = constraints.min_architecture_version
            return f"compute capability {have} < minArchitectureVersion {wanted}"
    return None


def _memory_problem(
    accelerator_class: AcceleratorClass, config: AcceleratorModelConfig | None, model: BaseModelSpec
) -> str | None:
    if config is None or not config.min_memory_per_billion_params:
        return None
    billions = parse_size(model.model_parameter_size or "") / 1e9
    if billions <= 0:
        return None
    parallelism = config.tensor_parallelism_override
    tensor = (parallelism.tensor_parallel_size if parallelism else None) or 1
    pipeline = (parallelism.pipeline_parallel_size if parallelism else None) or 1
    memory = memory_gib(accelerator_class)
    need = billions * config.min_memory_per_billion_params
    have = (memory or 0) * tensor * pipeline
    if have >= need:
        return None
    return (
        f"the model needs {need:g}GiB ({billions:g}B parameters * "
        f"{config.min_memory_per_billion_params}GiB) and {tensor * pipeline} "
        f"accelerator(s) of {memory or 0}GiB hold {have}GiB"
    )


def _tflops(performance: Performance | None, precision: str) -> int:
    field = _PRECISIONS.get(precision.lower())
    if performance is None or field is None:
        return 0
    value = getattr(performance, field)
    return int(value) if value is not None else 0


def _max_tflops(performance: Performance | None) -> int:
    return max((_tflops(performance, p) for p in ("fp32", "fp16", "int8", "int4")), default=0)


def _ratio(have: float, need: float) -> float:
    if have == 0:
        return 0.0
    return 1.0 if need == 0 else min(have / need, 1.0)


def _compute_score(
    accelerator_class: AcceleratorClass, constraints: AcceleratorConstraints
) -> float:
    performance = accelerator_class.spec.capabilities.performance
    if performance is None:
        return 0.0
    need = constraints.min_compute_performance_tflops or 0
    preferred = [p.lower() for p in constraints.preferred_precisions or ()]
    if not preferred:
        return _ratio(_max_tflops(performance), need)
    penalty = 1.0
    for precision in preferred:
        have = _tflops(performance, precision)
        if have > 0:
            return _ratio(have, need) * penalty
        penalty *= 0.5
    if "fp16" not in preferred and _tflops(performance, "fp16") > 0:
        return _ratio(_tflops(performance, "fp16"), need) * penalty
    return 0.0


def _memory_fit(accelerator_class: AcceleratorClass, constraints: AcceleratorConstraints) -> float:
    if constraints.min_memory is None:
        return 1.0
    memory = accelerator_class.spec.capabilities.memory_gb
    amount = parse_quantity(memory) if memory is not None else None
    if amount is None:
        return 0.0
    have, need = float(amount / Decimal(2**30)), float(constraints.min_memory)
    if have < need:
        return 0.0
    return 1.0 if need in (have, 0) else need / have


Picked = tuple[AcceleratorClass, str]


def _best(
    candidates: Sequence[AcceleratorClass], score: Callable[[AcceleratorClass], float], what: str
) -> Picked:
    scores = [score(c) for c in candidates]
    top = max(scores)
    winner = candidates[scores.index(top)]
    listed = ", ".join(
        f"{c.metadata.name} {s:.3f}" for c, s in zip(candidates, scores, strict=True)
    )
    return winner, f"highest {what} score ({listed})"


def _best_fit(
    candidates: Sequence[AcceleratorClass], constraints: AcceleratorConstraints
) -> Picked:
    def score(c: AcceleratorClass) -> float:
        return 0.7 * _memory_fit(c, constraints) + 0.3 * _compute_score(c, constraints)

    return _best(candidates, score, "fit")


def _most_capable(
    candidates: Sequence[AcceleratorClass], constraints: AcceleratorConstraints
) -> Picked:
    preferred = [p.lower() for p in constraints.preferred_precisions or ()] or ["fp16"]

    def raw(c: AcceleratorClass) -> tuple[float, float, float]:
        performance = c.spec.capabilities.performance
        tflops = next(
            (_tflops(performance, p) for p in preferred if _tflops(performance, p) > 0), 0
        )
        memory = (
            parse_quantity(c.spec.capabilities.memory_gb) if c.spec.capabilities.memory_gb else None
        )
        bandwidth = c.spec.capabilities.memory_bandwidth_gbps
        speed = parse_quantity(bandwidth) if bandwidth is not None else None
        return float(tflops), float((memory or 0) / Decimal(2**30)), float(speed or 0)

    values = [raw(c) for c in candidates]
    tops = [max(v[i] for v in values) for i in range(3)]

    def score(c: AcceleratorClass) -> float:
        tflops, memory, bandwidth = values[list(candidates).index(c)]
        parts = [
            v / t if t > 0 else 0.0 for v, t in zip((tflops, memory, bandwidth), tops, strict=True)
        ]
        return 0.5 * parts[1] + 0.3 * parts[2] + 0.2 * parts[0]

    return _best(candidates, score, "capability")


def _cheapest(candidates: Sequence[AcceleratorClass], _: AcceleratorConstraints) -> Picked:
    def hourly(c: AcceleratorClass) -> Decimal | None:
        cost = c.spec.cost
        value = (cost.spot_per_hour or cost.per_hour) if cost else None
        return parse_quantity(value) if value is not None else None

    def per_tokens(c: AcceleratorClass) -> Decimal | None:
        cost = c.spec.cost
        value = cost.per_million_tokens if cost else None
        return parse_quantity(value) if value is not None else None

    def tier(c: AcceleratorClass) -> Decimal | None:
        cost = c.spec.cost
        if cost is None or not cost.tier:
            return None
        return Decimal(_TIERS.get(cost.tier.lower(), 2))

    for price, what in (
        (hourly, "hourly cost"),
        (per_tokens, "cost per million tokens"),
        (tier, "cost tier"),
    ):
        priced = [(c, price(c)) for c in candidates]
        known = [(c, p) for c, p in priced if p is not None]
        if known:
            winner = min(known, key=lambda pair: pair[1])[0]
            listed = ", ".join(f"{c.metadata.name} {p}" for c, p in known)
            return winner, f"lowest {what} ({listed})"
    raise ServingError(
        Reason.NO_ACCELERATOR_CLASS_FITS,
        "policy Cheapest: no candidate class gives spec.cost (perHour, spotPerHour, "
        f"perMillionTokens or tier): {', '.join(c.metadata.name or '' for c in candidates)}",
    )


def _first(candidates: Sequence[AcceleratorClass], _: AcceleratorConstraints) -> Picked:
    return candidates[0], "the first of the runtime's classes that qualifies"


_POLICIES: dict[str, Callable[[Sequence[AcceleratorClass], AcceleratorConstraints], Picked]] = {
    FIRST_AVAILABLE: _first,
    BEST_FIT: _best_fit,
    CHEAPEST: _cheapest,
    MOST_CAPABLE: _most_capable,
}
