"""DedicatedAICluster validation (ours: upstream has no such kind any more).

On create and update, each refusal naming its field: ``spec.count`` must be a positive
number of units; ``spec.profile`` must name a DedicatedAIClusterProfile that exists and
is not disabled; the DAC (with its profile) must have resources; and an update may not
lower ``spec.count`` below what the DAC's workloads already hold (``status.allocatedGpu``),
with the numbers. An object being deleted, or a write that leaves the spec as it is
(status, finalizers), is never refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ome.serving.dedicated import (
    INVALID_SPEC,
    DacProblem,
    capacity_refusal,
    profile_name,
    resolve,
)
from ome.webhooks.review import Cause

Profiles = Callable[[str], Mapping[str, Any] | None]


def validate_dedicated_ai_cluster(
    obj: Mapping[str, Any], old: Mapping[str, Any] | None, profiles: Profiles
) -> list[Cause]:
    if old is not None and old.get("spec") == obj.get("spec"):
        return []
    name = profile_name(obj)
    try:
        units, unit = resolve(obj, profiles(name) if name is not None else None)
    except DacProblem as problem:
        field = "spec.count" if "spec.count" in problem.message else "spec.profile"
        if problem.reason == INVALID_SPEC and "resources" in problem.message:
            field = "spec.resources"
        return [Cause(field, problem.message)]
    allocated = int(((old or {}).get("status") or {}).get("allocatedGpu") or 0)
    refusal = capacity_refusal(units, unit, allocated)
    return [Cause("spec.count", refusal)] if refusal else []
