"""The download progress bars of ``ome agent`` run in the foreground on a terminal: one
line per download in flight, redrawn in place, and the last state of each printed for
good when it ends (done at 100%, or where it stopped).

Log lines share the terminal: :meth:`ProgressBars.erase` is put before each of them, so
a log line replaces the bars and the bars are drawn again below it on the next report,
instead of the two writing over each other.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

from ome.agent.progress import Progress
from ome.cli.status_model import human_bytes
from ome.controllers.basemodel.reports import percent

_BAR_WIDTH = 30
_UP_AND_ERASE = "\x1b[{}F\x1b[J"
"""Cursor to the start of the line ``n`` lines up, then erase to the end of the screen."""


def progress_line(name: str, progress: Progress, columns: int) -> str:
    """``name [#######.......]  45%  1.2 GiB / 2.7 GiB  35.0 MiB/s  Downloading``,
    shortened to fit ``columns``."""
    done, total = progress.completed_bytes, progress.total_bytes
    share = percent(done, total)
    filled = _BAR_WIDTH * share // 100
    bar = "#" * filled + "." * (_BAR_WIDTH - filled)
    sizes = f"{human_bytes(done)} / {human_bytes(total)}" if total else human_bytes(done)
    speed = f"{human_bytes(int(progress.speed_bytes_per_sec))}/s"
    line = f"{name} [{bar}] {share:3d}%  {sizes}  {speed}  {progress.phase}"
    return line[: max(columns - 1, 0)]


class ProgressBars:
    """A :class:`~ome.agent.progress.ProgressDisplay` drawing on ``stream``, at most
    once per ``interval`` seconds (progress reports come per chunk read)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] = lambda: shutil.get_terminal_size().columns,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.columns = columns
        self._shown: dict[str, Progress] = {}
        self._drawn_lines = 0
        self._drawn_at = float("-inf")

    def update(self, name: str, progress: Progress) -> None:
        self._shown[name] = progress
        if self.clock() - self._drawn_at >= self.interval:
            self._draw()

    def finish(self, name: str) -> None:
        last = self._shown.pop(name, None)
        if last is None:
            return
        self.stream.write(self.erase() + progress_line(name, last, self.columns()) + "\n")
        self._draw()

    def erase(self) -> str:
        """What removes the bars drawn so far; the next report draws them again."""
        lines, self._drawn_lines = self._drawn_lines, 0
        return _UP_AND_ERASE.format(lines) if lines else ""

    def _draw(self) -> None:
        columns = self.columns()
        lines = [progress_line(name, p, columns) for name, p in self._shown.items()]
        self.stream.write(self.erase() + "".join(line + "\n" for line in lines))
        self.stream.flush()
        self._drawn_lines = len(lines)
        self._drawn_at = self.clock()
