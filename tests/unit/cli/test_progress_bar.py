"""The agent's terminal progress bars: what a line says, when they are redrawn, and that
a log line in between takes their place instead of writing over them."""

from __future__ import annotations

import io

from ome.agent.progress import Phase, Progress
from ome.cli.progress_bar import ProgressBars, progress_line

GIB = 1024**3


def downloading(done: int, total: int = 2 * GIB, speed: float = 0.0) -> Progress:
    return Progress(
        Phase.DOWNLOADING, total_bytes=total, completed_bytes=done, speed_bytes_per_sec=speed
    )


def test_a_line_shows_bar_percent_sizes_speed_and_phase() -> None:
    line = progress_line("default/llama", downloading(GIB, speed=35 * 1024**2), columns=200)
    assert line == (
        "default/llama [###############...............]  50%  1.0 GiB / 2.0 GiB  35.0 MiB/s  "
        "Downloading"
    )


def test_a_line_without_a_known_total_shows_what_was_fetched() -> None:
    line = progress_line("m", Progress(Phase.SCANNING, completed_bytes=2048), columns=200)
    assert "[" + "." * 30 + "]   0%  2.0 KiB  0 B/s  Scanning" in line


def test_a_line_fits_the_terminal() -> None:
    assert len(progress_line("a-long-model-name", downloading(GIB), columns=40)) == 39


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def bars() -> tuple[ProgressBars, io.StringIO, Clock]:
    out, clock = io.StringIO(), Clock()
    return ProgressBars(out, interval=1.0, clock=clock, columns=lambda: 200), out, clock


def test_reports_within_the_interval_are_not_drawn() -> None:
    display, out, clock = bars()
    display.update("a", downloading(0))
    display.update("a", downloading(GIB // 2))
    assert out.getvalue().count("\n") == 1
    clock.now = 1.0
    display.update("a", downloading(GIB))
    assert out.getvalue().endswith(
        "\x1b[1F\x1b[J" + progress_line("a", downloading(GIB), 200) + "\n"
    )


def test_each_download_has_its_line_and_keeps_its_last_one_when_it_ends() -> None:
    display, out, clock = bars()
    display.update("a", downloading(GIB))
    clock.now = 1.0
    display.update("b", downloading(0))
    assert out.getvalue().endswith(
        "\x1b[1F\x1b[J"
        + progress_line("a", downloading(GIB), 200)
        + "\n"
        + progress_line("b", downloading(0), 200)
        + "\n"
    )
    display.finish("a")
    finished = out.getvalue().split("\x1b[2F\x1b[J")[-1]
    assert finished == (
        progress_line("a", downloading(GIB), 200)
        + "\n"
        + progress_line("b", downloading(0), 200)
        + "\n"
    )
    display.finish("b")
    display.finish("never-shown")
    assert out.getvalue().endswith("\x1b[1F\x1b[J" + progress_line("b", downloading(0), 200) + "\n")


def test_a_log_line_erases_the_bars_and_they_come_back_below_it() -> None:
    display, out, clock = bars()
    display.update("a", downloading(GIB))
    assert display.erase() == "\x1b[1F\x1b[J"
    assert display.erase() == ""
    clock.now = 1.0
    display.update("a", downloading(GIB))
    assert out.getvalue().endswith("\n" + progress_line("a", downloading(GIB), 200) + "\n")
    assert "\x1b[" not in out.getvalue()
