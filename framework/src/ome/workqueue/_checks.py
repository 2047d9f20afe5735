"""Argument checks shared by the queues and the rate limiters.

Bad input must fail where it is passed, with a message naming the mistake: a bad key
accepted into the queue would surface later as a stuck or crashing worker, far from the
code that caused it.
"""

from __future__ import annotations

import math


def require_key(key: object) -> None:
    if key is None:
        raise TypeError("None cannot be a work queue key: get() returns None to signal shutdown")
    try:
        hash(key)
    except TypeError:
        raise TypeError(
            f"work queue keys must be hashable, got an unhashable {type(key).__name__}"
        ) from None


def require_priority(priority: int) -> None:
    if not isinstance(priority, int):
        raise TypeError(f"priority must be an int, got {type(priority).__name__}")


def require_non_negative(what: str, value: float) -> None:
    """A finite int or float >= 0 (a delay, a rate)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not 0 <= value < math.inf:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")


def require_count(what: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
