"""ServingRuntime and ClusterServingRuntime validation (upstream
``servingruntime_webhook.go``).

A disabled runtime is admitted once it is a valid object of the API types. An enabled one
must also have:

- a consistent configuration: a legacy ``workers.size`` is positive; with an engine and
  no decoder, a ``DEPLOYMENT_MODE`` container environment variable of ``MultiNode`` needs
  workers and one of ``RawDeployment`` forbids them;
- only existing accelerator classes in ``acceleratorRequirements.acceleratorClasses``;
- ``modelSizeRange`` bounds that are sizes (:func:`ome.serving.sizes.size_problem`:
  upstream reads other texts as 0 and NaN as inside every range);
- one priority per format name among its auto-selectable formats;
- no priority conflict: against every other enabled runtime of the same scope (the
  namespace's ServingRuntimes, or all ClusterServingRuntimes) that shares a protocol
  version, no auto-selectable format equal to one of its own (name ignoring case,
  version, quantization, framework, format, architecture) with the same size range and
  the same priority — auto-selection could not choose between the two.

The runtimes compared against come from the informer cache, so two conflicting runtimes
created within the same instant may both be admitted (upstream lists through a cache
too)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ome.api.v1beta1 import ClusterServingRuntime, ServingRuntime, ServingRuntimeSpec
from ome.api.v1beta1.servingruntime import ModelSizeRange, SupportedModelFormat
from ome.serving.catalog import Runtime
from ome.serving.sizes import size_text_problems
from ome.webhooks.inferenceservice import schema_causes
from ome.webhooks.review import Cause

DEPLOYMENT_MODE_ENV = "DEPLOYMENT_MODE"
MULTI_NODE_ERROR = (
    "for MultiNode deployment, both leader and worker must be defined and worker.size must "
    "be greater than 0"
)
RAW_DEPLOYMENT_ERROR = "for RawDeployment, leader and worker must not be defined"
ACCELERATOR_CLASSES_FIELD = "spec.acceleratorRequirements.acceleratorClasses"


def validate_runtime(
    obj: Any,
    kind: str,
    others: Sequence[Runtime],
    accelerator_classes: Collection[str] | None,
) -> list[Cause]:
    """Problems of the runtime ``obj`` of ``kind`` (empty: admit). ``others`` are the
    runtimes of its scope; ``accelerator_classes`` None skips the existence check."""
    causes, runtime = schema_causes(obj, kind)
    if runtime is None:
        return causes
    assert isinstance(runtime, ServingRuntime | ClusterServingRuntime)
    spec = runtime.spec
    if spec.disabled:
        return []
    problem = configuration_problem(spec)
    if problem is not None:
        causes.append(Cause(problem[0], f"invalid configuration: {problem[1]}"))
    if accelerator_classes is not None:
        causes += _unknown_accelerators(spec, accelerator_classes)
    causes += [Cause(field, problem) for field, problem in size_text_problems(runtime)]
    name = runtime.metadata.name or ""
    causes += _mixed_priorities(spec, kind, name)
    if not causes:
        causes += _conflicts(runtime, others)
    return causes


def configuration_problem(spec: ServingRuntimeSpec) -> tuple[str, str] | None:
    """(field, problem) of upstream's ``validateServingRuntimeConfiguration``."""
    if spec.engine_config is not None and spec.decoder_config is not None:
        return None  # prefill-decode disaggregation: nothing more to check
    size = spec.workers.size if spec.workers is not None else None
    if size is not None and size <= 0:
        return "spec.workers.size", MULTI_NODE_ERROR
    modes = {
        env.value
        for container in spec.containers or ()
        for env in container.env or ()
        if env.name == DEPLOYMENT_MODE_ENV
    }
    if spec.engine_config is None:
        return None
    explicit_multi, explicit_raw = "MultiNode" in modes, "RawDeployment" in modes
    multi_node = explicit_multi or (not explicit_raw and size is not None and size > 0)
    if multi_node and (size is None or size <= 0):
        return "spec.workers.size", MULTI_NODE_ERROR
    if not multi_node and size is not None and size > 0:
        return "spec.workers", RAW_DEPLOYMENT_ERROR
    return None


def _unknown_accelerators(spec: ServingRuntimeSpec, known: Collection[str]) -> list[Cause]:
    wanted = (
        spec.accelerator_requirements and spec.accelerator_requirements.accelerator_classes
    ) or []
    missing = [name for name in wanted if name not in known]
    if not missing:
        return []
    message = (
        f"unknown accelerator classes referenced in AcceleratorRequirements: [{' '.join(missing)}]"
    )
    return [Cause(ACCELERATOR_CLASSES_FIELD, message)]


def _auto_select(entry: SupportedModelFormat) -> bool:
    return entry.auto_select is True


def _mixed_priorities(spec: ServingRuntimeSpec, kind: str, name: str) -> list[Cause]:
    """Auto-selectable formats of one name must share a priority (upstream checks this
    only when the scope has other runtimes; here always)."""
    seen: dict[str, int | None] = {}
    for index, entry in enumerate(spec.supported_model_formats or ()):
        if not _auto_select(entry):
            continue
        label = entry.name or ""
        if label not in seen:
            seen[label] = entry.priority
            continue
        first = seen[label]
        if first is not None and entry.priority is not None and first != entry.priority:
            message = (
                f"different priorities assigned for the model format {label} under the "
                f"{kind.lower()} {name}"
            )
            return [Cause(f"spec.supportedModelFormats[{index}].priority", message)]
    return []


def _conflicts(runtime: Runtime, others: Sequence[Runtime]) -> list[Cause]:
    name = runtime.metadata.name or ""
    for other in others:
        if other.metadata.name == name or other.spec.disabled:
            continue
        index = conflicting_format(runtime.spec, other.spec)
        if index is None:
            continue
        entry = (runtime.spec.supported_model_formats or [])[index]
        message = f"same priority assigned for the model format {entry.name or ''}"
        if isinstance(runtime, ServingRuntime):
            message += (
                f" in the servingruntimes {other.metadata.name} and {name} in namespace "
                f"{runtime.metadata.namespace}"
            )
        else:
            message += f" in the clusterservingruntimes {other.metadata.name} and {name}"
        return [Cause(f"spec.supportedModelFormats[{index}].priority", message)]
    return []


def conflicting_format(new: ServingRuntimeSpec, existing: ServingRuntimeSpec) -> int | None:
    """Index of the first format of ``new`` that auto-selection could not tell apart from
    one of ``existing`` (upstream's ``validateServingRuntimePriority``), else None."""
    shared = set(new.protocol_versions or ()) & set(existing.protocol_versions or ())
    if not shared or not _same_range(new.model_size_range, existing.model_size_range):
        return None
    for old in existing.supported_model_formats or ():
        for index, entry in enumerate(new.supported_model_formats or ()):
            if not (_auto_select(old) and _auto_select(entry) and _same_format(old, entry)):
                continue
            if old.priority is not None and old.priority == entry.priority:
                return index
    return None


def _same_format(a: SupportedModelFormat, b: SupportedModelFormat) -> bool:
    return (
        (a.name or "").casefold() == (b.name or "").casefold()
        and a.version == b.version
        and a.quantization == b.quantization
        and a.model_architecture == b.model_architecture
        and a.model_framework.model_dump() == b.model_framework.model_dump()
        and a.model_format.model_dump() == b.model_format.model_dump()
    )


def _same_range(a: ModelSizeRange | None, b: ModelSizeRange | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.min == b.min and a.max == b.max
