"""Kubernetes resource quantities ("8", "80Gi", "1.5", "500m", "1e3") as exact numbers."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
GIB = Decimal(2**30)


def parse_quantity(value: Any) -> Decimal | None:
    """The quantity's value, or None when it is not one (the API server validates the
    quantities it stores; a number given as JSON is taken as is)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value)) if math.isfinite(value) else None
    found = _QUANTITY.match(str(value).strip())
    if found is None:
        return None
    number, suffix = found.group(1), found.group(2) or ""
    try:
        amount = Decimal(number)
        if suffix in _BINARY:
            return amount * _BINARY[suffix]
        if suffix in _DECIMAL:
            return amount * _DECIMAL[suffix]
        return amount * Decimal(10) ** int(suffix[1:])
    except InvalidOperation:
        return None


def whole(value: Any) -> int:
    """A count-like quantity rounded up, as Go's ``Quantity.Value()`` does; 0 when it is
    not a quantity."""
    amount = parse_quantity(value)
    return math.ceil(amount) if amount is not None else 0


def gibibytes(value: Any) -> int | None:
    """Whole GiB of a memory quantity, rounded down as upstream's ``Value() / 2^30``."""
    amount = parse_quantity(value)
    return int(amount // GIB) if amount is not None else None
