"""JSON encoded with orjson: a tenth to a twentieth of the standard library's time for
an object, and straight to the bytes the wire wants. ``dumps`` writes request bodies,
``canonical`` the keys-sorted form that digests of objects are taken from.

orjson refuses integers beyond 64 bits, which a schemaless field may carry; those bodies
fall back to the standard library, which writes them exactly. Answers are still decoded
by the standard library: orjson reads such integers as floats, silently losing digits of
a user's value that a later write could send back.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def canonical(value: Any) -> bytes:
    """``value`` with every object's keys sorted, anything not JSON written as ``str``:
    equal documents give equal bytes."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, default=str).encode()
