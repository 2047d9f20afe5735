"""Model parameter sizes ("7B", "7.11B", "1.5T", "400M") as upstream's selector reads them."""

from __future__ import annotations

import re

_MULTIPLIERS = {"T": 1e12, "B": 1e9, "M": 1e6}
# Go's strconv.ParseFloat for decimal text: no spaces, no underscores.
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_size(text: str) -> float:
    """Parameters in ``text``. Like upstream, text that is no number counts as 0, so a
    model of unreadable size falls outside every range that starts above 0."""
    number = text[:-1] if text[-1:] in _MULTIPLIERS else text
    if not _DECIMAL.match(number):
        return 0.0
    return float(number) * _MULTIPLIERS.get(text[-1:], 1.0)
