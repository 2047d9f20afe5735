"""Download progress, as the node status ConfigMap reports it (upstream ``DownloadProgress``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol


class Phase(StrEnum):
    SCANNING = "Scanning"
    """Listing what there is to fetch."""
    DOWNLOADING = "Downloading"
    VERIFYING = "Verifying"
    """Checking sizes and checksums of what was fetched."""
    FINALIZING = "Finalizing"


@dataclass(frozen=True)
class Progress:
    phase: Phase
    total_bytes: int = 0
    completed_bytes: int = 0
    total_files: int = 0
    completed_files: int = 0
    speed_bytes_per_sec: float = 0.0
    last_updated: datetime = field(default_factory=lambda: datetime.now(UTC))


ProgressCallback = Callable[[Progress], None]
"""Called with each new progress report; it must not block (the caller is async)."""


class ProgressDisplay(Protocol):
    """Where a foreground run shows its downloads as they go (``ome agent`` on a
    terminal); called on every progress report, so it must be cheap and not block."""

    def update(self, name: str, progress: Progress) -> None: ...

    def finish(self, name: str) -> None:
        """The download of ``name`` ended, done or not."""


class SpeedMeter:
    """Bytes per second between successive samples of a growing byte count.

    Successive samples rather than an average since the start, so the speed shown drops
    to zero when a download stalls instead of decaying slowly.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: tuple[float, int] | None = None
        self._speed = 0.0

    def sample(self, completed_bytes: int) -> float:
        now = self._clock()
        if self._last is not None:
            then, before = self._last
            if now > then:
                self._speed = max(completed_bytes - before, 0) / (now - then)
        self._last = (now, completed_bytes)
        return self._speed
