"""The runner's report: one row per scenario, as a Markdown table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class ScenarioResult:
    name: str
    faults: list[str] = field(default_factory=list)
    """What was injected, in order."""
    writes: int = 0
    """Creates, updates and deletes of services the driver made."""
    converge_seconds: list[float] = field(default_factory=list)
    """Per spec write: from the write (or the fault's end, if later) until the checker
    first saw the service as it asks."""
    settle_seconds: float | None = None
    """From the end of the churn until every service had converged (None: never)."""
    violations: list[str] = field(default_factory=list)
    peak_rss_bytes: int = 0
    slowest: str | None = None
    """The service that took longest to converge, and how long (for the progress log)."""


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def markdown(results: Sequence[ScenarioResult], services: int, replicas: int) -> str:
    lines = [
        f"Chaos run: {services} services, {replicas} operator replicas.",
        "",
        "| scenario | faults injected | services churned (writes) | invariant violations "
        "| converge p50 | converge p99 | settle | peak RSS |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {'; '.join(result.faults) or 'none'} | {result.writes} "
            f"| {len(result.violations)} "
            f"| {_seconds(percentile(result.converge_seconds, 0.5))} "
            f"| {_seconds(percentile(result.converge_seconds, 0.99))} "
            f"| {_seconds(result.settle_seconds)} "
            f"| {result.peak_rss_bytes / (1 << 20):.0f} MiB |"
        )
    details = [(r.name, v) for r in results for v in r.violations]
    if details:
        lines += ["", "Violations:", ""]
        lines += [f"- {name}: {violation}" for name, violation in details]
    return "\n".join(lines) + "\n"
