"""Numbers read as Go's ``strconv.ParseFloat(text, 64)`` reads them, for texts that
upstream parses with it (model sizes).

Go accepts what its float literals allow, and nothing around them: decimal
(``70.6``, ``.5``, ``5.``, ``1e3``) and hexadecimal (``0x1p-2``, the ``p`` exponent
required) mantissas with an optional sign, ``_`` between digits (``1_000``), and,
ignoring case, ``NaN`` (unsigned) and ``Inf``/``Infinity`` (optionally signed). A value
too large for a float64 is an error; one too small reads as 0. Python's ``float`` is
broader (spaces, Unicode digits, ``+nan``) and silent about overflow, so the syntax is
checked here (after Go's ``special``, ``readFloat`` and ``underscoreOK`` in strconv's
atof.go and atoi.go) and only the arithmetic, correctly rounded on both sides, is left
to it."""

from __future__ import annotations

import math
import re
import string

# A mantissa of digits and underscores with at most one point and at least one digit
# (the look-ahead), then the exponent; where underscores may go is checked apart.
_DECIMAL = re.compile(r"[+-]?(?=[0-9_.]*[0-9])[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9][0-9_]*)?")
_HEX = re.compile(
    r"[+-]?0[xX](?=[0-9a-fA-F_.]*[0-9a-fA-F])[0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?"
    r"[pP][+-]?[0-9][0-9_]*"
)
_INFINITY = re.compile(r"[+-]?(inf|infinity)", re.IGNORECASE)
_NAN = re.compile(r"nan", re.IGNORECASE)


class FloatSyntaxError(ValueError):
    """Go's ``strconv.ErrSyntax``."""


class FloatRangeError(ValueError):
    """Go's ``strconv.ErrRange``: the number is beyond a float64's largest."""


def parse_float(text: str) -> float:
    """The float64 Go reads from ``text``; :class:`FloatSyntaxError` or
    :class:`FloatRangeError` where Go returns an error."""
    if _INFINITY.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    hexadecimal = _HEX.fullmatch(text) is not None
    if not (hexadecimal or _DECIMAL.fullmatch(text)) or not _underscores_ok(text):
        raise FloatSyntaxError(f"{text!r} is not a number")
    digits = text.replace("_", "")
    try:
        value = float.fromhex(digits) if hexadecimal else float(digits)
    except OverflowError:  # fromhex's way; float() returns inf
        value = math.inf
    if math.isinf(value):
        raise FloatRangeError(f"{text!r} is out of a float64's range")
    return value


def _underscores_ok(text: str) -> bool:
    """Go's rule (``underscoreOK``): each ``_`` sits between two digits, or between the
    ``0x`` prefix and a digit."""
    if "_" not in text:
        return True
    number = text[1:] if text.startswith(("+", "-")) else text
    hexadecimal = number[:2].lower() == "0x"
    digits = string.hexdigits if hexadecimal else string.digits
    previous = "digit" if hexadecimal else "start"  # the prefix counts as a digit
    for char in number[2:] if hexadecimal else number:
        if char in digits:
            previous = "digit"
        elif char == "_":
            if previous != "digit":
                return False
            previous = "_"
        elif previous == "_":
            return False
        else:
            previous = "other"
    return previous != "_"
