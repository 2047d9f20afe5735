"""Whether a runtime can serve a model, and how well: upstream's matcher and scorer
(``pkg/runtimeselector``), with a reason for every mismatch.

A supported-format entry matches when every optional fact is given on both sides and
equal, or on neither: diffusion pipeline (the runtime's parts must be in the model's),
architecture, quantization, format name and version, framework name and version. The
score is computed by a separate, looser rule (upstream's): only format and framework
count there, and a version given on one side only does not spoil it."""

from __future__ import annotations

import math

from ome.api.v1beta1 import (
    BaseModelSpec,
    InferenceService,
    ServingRuntimeSpec,
    SupportedModelFormat,
)
from ome.api.v1beta1.common import DiffusionComponent, DiffusionPipelineSpec, ModelFormat
from ome.serving.modelver import satisfies
from ome.serving.sizes import parse_size

ACCELERATOR_CLASS_ANNOTATION = "ome.io/accelerator-class"
DEFAULT_PRIORITY = 1
# Used when a weight is 0 (the minimal CRDs do not default it to 1).
DEFAULT_FORMAT_WEIGHT = 10
DEFAULT_FRAMEWORK_WEIGHT = 5


def required_accelerator_classes(service: InferenceService) -> frozenset[str]:
    """Classes the service asks for: the annotation, the selector and the engine's and
    decoder's overrides."""
    spec = service.spec
    classes = set()
    annotations = service.metadata.annotations or {}
    if ACCELERATOR_CLASS_ANNOTATION in annotations:
        classes.add(annotations[ACCELERATOR_CLASS_ANNOTATION])
    selectors = [spec.accelerator_selector]
    selectors += [c.accelerator_override for c in (spec.engine, spec.decoder) if c is not None]
    classes.update(s.accelerator_class for s in selectors if s and s.accelerator_class is not None)
    return frozenset(classes)


def incompatibility(
    runtime: ServingRuntimeSpec, model: BaseModelSpec, accelerators: frozenset[str]
) -> str | None:
    """Why the runtime cannot serve the model (the first reason upstream reports), or None.
    Whether the runtime may be auto-selected is a separate question."""
    if runtime.disabled:
        return "runtime is disabled"
    requirements = runtime.accelerator_requirements
    supported = set(requirements.accelerator_classes or ()) if requirements else set()
    missing = accelerators - supported
    if missing:
        return f"runtime does not support the required accelerator class {_names(missing)}"
    formats = runtime.supported_model_formats or []
    mismatches = [format_mismatches(model, entry) for entry in formats]
    if not formats or all(mismatches):
        detail = "; ".join(", ".join(m) for m in mismatches) or "no supported formats defined"
        return f"no supported format matches: {detail}"
    return size_mismatch(runtime, model)


def format_label(model: BaseModelSpec) -> str:
    """The model's facts in upstream's ``mt:format:version:architecture:…`` form."""
    fmt, framework = model.model_format, model.model_framework
    parts = ["mt", fmt.name if fmt else ""]
    parts += [fmt.version] if fmt and fmt.version is not None else []
    parts += [p for p in (model.model_architecture, model.quantization) if p is not None]
    if framework is not None:
        parts.append(framework.name)
        parts += [framework.version] if framework.version is not None else []
    return ":".join(parts)


def format_mismatches(model: BaseModelSpec, entry: SupportedModelFormat) -> list[str]:
    """Every way the model differs from one supported-format entry; empty when it matches."""
    found = []
    pipeline = diffusion_mismatch(model.diffusion_pipeline, entry.diffusion_pipeline)
    if pipeline:
        found.append(pipeline)
    for fact, have, want in (
        ("architecture", model.model_architecture, entry.model_architecture),
        ("quantization", model.quantization, entry.quantization),
    ):
        if have is not None and want is not None and have != want:
            found.append(f"{fact} mismatch (model={have}, runtime={want})")
        elif have is None and want is not None:
            found.append(f"model has no {fact} but runtime requires {want}")
        elif have is not None and want is None:
            found.append(f"model has {fact} {have} but runtime has no {fact} requirement")
    model_format = model.model_format or ModelFormat(name="")
    found += _spec_mismatches("format", model_format, entry.model_format)
    found += _spec_mismatches("framework", model.model_framework, entry.model_framework)
    return found


def _spec_mismatches(fact: str, have: ModelFormat | None, want: ModelFormat) -> list[str]:
    """A format or framework: the name, then the version with the runtime's operator."""
    if have is None:
        return [f"model has no {fact} but runtime requires {want.name}"]
    if have.name != want.name:
        return [f"{fact} name mismatch (model={have.name}, runtime={want.name})"]
    if have.version is not None and want.version is not None:
        if not satisfies(want.version, want.operator, have.version):
            operator = want.operator or "Equal"
            return [
                f"{fact} version mismatch (model={have.version}, runtime={want.version}, "
                f"operator {operator})"
            ]
    elif have.version is None and want.version is not None:
        return [f"model has no {fact} version but runtime requires {want.version}"]
    elif have.version is not None:
        return [f"model has {fact} version {have.version} but runtime has no version requirement"]
    return []


def diffusion_mismatch(
    model: DiffusionPipelineSpec | None, runtime: DiffusionPipelineSpec | None
) -> str | None:
    """Why the model's diffusers pipeline lacks what the runtime's entry requires."""
    if runtime is None:
        return None
    if model is None:
        return "diffusion pipeline required by runtime but not specified in model"
    if runtime.class_name is not None and runtime.class_name != model.class_name:
        return f"pipeline class mismatch (model={model.class_name}, runtime={runtime.class_name})"
    parts = [
        ("scheduler", model.scheduler, runtime.scheduler),
        ("textEncoder", model.text_encoder, runtime.text_encoder),
        ("tokenizer", model.tokenizer, runtime.tokenizer),
        ("transformer", model.transformer, runtime.transformer),
        ("vae", model.vae, runtime.vae),
    ]
    extra = model.additional_components or {}
    for key, wanted in sorted((runtime.additional_components or {}).items()):
        if key not in extra:
            return f"diffusion component {key} missing in model"
        parts.append((key, extra[key], wanted))
    for name, have, want in parts:
        problem = _component_mismatch(name, have, want)
        if problem:
            return problem
    return None


def _component_mismatch(
    name: str, have: DiffusionComponent | None, want: DiffusionComponent | None
) -> str | None:
    if want is None:
        return None
    if have is None:
        return f"component {name} required by runtime but not specified in model"
    for fact in ("library", "type"):
        wanted, had = getattr(want, fact) or "", getattr(have, fact) or ""
        if wanted and wanted != had:
            return f"{name} {fact} mismatch (model={had}, runtime={wanted})"
    return None


def size_mismatch(runtime: ServingRuntimeSpec, model: BaseModelSpec) -> str | None:
    size, bounds = model.model_parameter_size, runtime.model_size_range
    if size is None or bounds is None:
        return None
    value, (low, high) = parse_size(size), _bounds(runtime)
    # NaN compares false with everything: upstream found such a model inside every range.
    if math.isnan(value):
        return f"model size {size} is not a number"
    if math.isnan(low) or math.isnan(high):
        return f"supported range [{bounds.min}, {bounds.max}] has a bound that is not a number"
    if low <= value <= high:
        return None
    return f"model size {size} is outside supported range [{bounds.min}, {bounds.max}]"


def _bounds(runtime: ServingRuntimeSpec) -> tuple[float, float]:
    # A missing bound is open (upstream dereferences it and panics).
    bounds = runtime.model_size_range
    low = parse_size(bounds.min) if bounds and bounds.min is not None else 0.0
    high = parse_size(bounds.max) if bounds and bounds.max is not None else math.inf
    return low, high


def size_distance(runtime: ServingRuntimeSpec, model: BaseModelSpec) -> float:
    """How far the runtime's size range is from the model's size (the first tie-break);
    0 when either side gives none, so a runtime without a range wins that tie."""
    if model.model_parameter_size is None or runtime.model_size_range is None:
        return 0.0
    size = parse_size(model.model_parameter_size)
    low, high = _bounds(runtime)
    return _gap(low, size) + _gap(high, size)


def _gap(bound: float, size: float) -> float:
    # An infinite size is at no distance from the same infinite bound (inf - inf is NaN).
    return 0.0 if bound == size else abs(bound - size)


def auto_selectable(runtime: ServingRuntimeSpec) -> bool:
    return any(entry.auto_select for entry in runtime.supported_model_formats or ())


def runtime_score(runtime: ServingRuntimeSpec, model: BaseModelSpec) -> int:
    """The best score of the entries not excluded from auto-selection (``autoSelect`` left
    out counts); 0 when none scores."""
    entries = (e for e in runtime.supported_model_formats or () if e.auto_select is not False)
    return max((format_score(model, entry) for entry in entries), default=0)


def format_score(model: BaseModelSpec, entry: SupportedModelFormat) -> int:
    """weight * priority for the format and for the framework; 0 unless both match."""
    have, want = model.model_format, entry.model_format
    if have is None or have.name != want.name or not _versions_agree(have, want):
        return 0
    framework, wanted = model.model_framework, entry.model_framework
    if framework is None or framework.name != wanted.name or not _versions_agree(framework, wanted):
        return 0
    priority = entry.priority or DEFAULT_PRIORITY
    format_weight = want.weight or DEFAULT_FORMAT_WEIGHT
    framework_weight = wanted.weight or DEFAULT_FRAMEWORK_WEIGHT
    return format_weight * priority + framework_weight * priority


def _versions_agree(have: ModelFormat, want: ModelFormat) -> bool:
    if have.version is None or want.version is None:
        return True
    return satisfies(want.version, want.operator, have.version)


def serves_format_of(runtime: ServingRuntimeSpec, model: BaseModelSpec) -> bool:
    """Whether some entry names the model's format and architecture: a runtime that does
    yet does not match is worth naming when nothing matches."""
    name = model.model_format.name if model.model_format else ""
    return any(
        e.model_format.name == name and e.model_architecture == model.model_architecture
        for e in runtime.supported_model_formats or ()
    )


def _names(items: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(items))
