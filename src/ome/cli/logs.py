"""Log output of the long-running commands: JSON lines for clusters, a readable console
format for people, at the level asked for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import structlog

FORMATS = ("json", "console")
LEVELS = ("debug", "info", "warning", "error")


def add_arguments(parser: Any, default_format: str = "console") -> None:
    parser.add_argument(
        "--log-format", choices=FORMATS, default=default_format, help="log line format"
    )
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="least severe level")


def configure(level: str, fmt: str, *, before_line: Callable[[], str] | None = None) -> None:
    """``before_line``: what to write ahead of each log line, for a terminal that also
    shows something redrawn in place (the agent's progress bars)."""
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(level=numeric, format="%(message)s")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.format_exc_info,
        renderer,
    ]
    if before_line is not None:
        prefix = before_line
        processors.append(lambda _logger, _method, line: prefix() + line)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
