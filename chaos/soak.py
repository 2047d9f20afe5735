"""Soak mode's sampler: every replica process's RSS, open file descriptors, asyncio
tasks and work-queue depth at a fixed interval, into ``soak.csv``, and their summary
(first, largest, last per series) for the report."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from chaos.system import System

INTERVAL = 30.0
MEASURES = ("rss_bytes", "fds", "tasks", "queue_depth")


@dataclass(frozen=True)
class SoakSample:
    seconds: float
    """Since the soak started."""
    replica: str
    pid: int
    rss_bytes: int
    fds: int
    tasks: int
    queue_depth: float
    """Items waiting in all the replica's work queues (``workqueue_depth``, summed)."""


def metric_sum(text: str, name: str) -> float | None:
    """The sum of every sample of ``name`` (whatever its labels) in a Prometheus text
    exposition; None when there is none."""
    values = [
        float(line.rsplit(maxsplit=1)[1])
        for line in text.splitlines()
        if line.startswith((f"{name} ", f"{name}{{"))
    ]
    return sum(values) if values else None


@dataclass(frozen=True)
class Series:
    replica: str
    pid: int
    measure: str
    first: float
    largest: float
    last: float


def summary(samples: Iterable[SoakSample]) -> list[Series]:
    """First, largest and last value of each measure of each process, in the order the
    processes were first sampled."""
    by_process: dict[tuple[str, int], list[SoakSample]] = {}
    for sample in samples:
        by_process.setdefault((sample.replica, sample.pid), []).append(sample)
    found = []
    for (replica, pid), series in by_process.items():
        for measure in MEASURES:
            values = [float(getattr(s, measure)) for s in series]
            found.append(Series(replica, pid, measure, values[0], max(values), values[-1]))
    return found


def _shown(measure: str, value: float) -> str:
    if measure == "rss_bytes":
        return f"{value / (1 << 20):.0f} MiB"
    return f"{value:g}"


def markdown(samples: Sequence[SoakSample]) -> str:
    """The summary as a Markdown table, for report.md."""
    lines = [
        f"Soak: {len(samples)} samples over {samples[-1].seconds:.0f} s." if samples else "Soak:",
        "",
        "| replica (pid) | measure | first | max | last |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in summary(samples):
        shown = [_shown(s.measure, v) for v in (s.first, s.largest, s.last)]
        lines.append(f"| {s.replica} ({s.pid}) | {s.measure} | {' | '.join(shown)} |")
    return "\n".join(lines) + "\n"


async def sample(system: System, started: float) -> list[SoakSample]:
    """One sample of each replica process running (a SIGSTOPped one does not answer)."""
    taken = []
    for replica in system.replicas:
        if not replica.alive() or replica.stopped:
            continue
        text = await replica.metrics_text()
        if text is None:  # not serving yet (just restarted)
            continue
        taken.append(
            SoakSample(
                seconds=round(time.monotonic() - started, 1),
                replica=replica.name,
                pid=replica.pid,
                rss_bytes=replica.rss_bytes(),
                fds=replica.fds(),
                tasks=int(metric_sum(text, "python_asyncio_tasks") or 0),
                queue_depth=metric_sum(text, "workqueue_depth") or 0.0,
            )
        )
    return taken


async def record(system: System, path: Path, into: list[SoakSample]) -> None:
    """Sample every :data:`INTERVAL` seconds until cancelled, appending to ``path`` (a
    CSV file with a header) and to ``into``."""
    started = time.monotonic()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([f.name for f in fields(SoakSample)])
        while True:
            for taken in await sample(system, started):
                into.append(taken)
                writer.writerow(astuple(taken))
            out.flush()
            await asyncio.sleep(INTERVAL)
