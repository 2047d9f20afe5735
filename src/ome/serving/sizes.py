"""Model parameter sizes ("7B", "70.6B", "1.5T", "400M", "1_000M") as upstream's selector
reads them (``parseModelSize``, upstream pkg/runtimeselector/matcher.go): a last
character ``T``, ``B`` or ``M`` (upper case only) multiplies the number before it by
10^12, 10^9 or 10^6, and that number is read by Go's ``strconv.ParseFloat``."""

from __future__ import annotations

import math

from ome.api.meta import ApiObject
from ome.api.v1beta1 import BaseModelSpec, ServingRuntimeSpec
from ome.serving.gofloat import FloatRangeError, FloatSyntaxError, parse_float

_MULTIPLIERS = {"T": 1e12, "B": 1e9, "M": 1e6}
ACCEPTED_SIZES = (
    "a number (e.g. 7, 70.6, 1_000, 1e3, 0x1p-2, Inf) optionally followed by T, B or M "
    "(e.g. 7B, 1.5T, 400M)"
)


def parse_size(text: str) -> float:
    """Parameters in ``text``, as upstream computes them: ``NaN`` for a NaN and, like
    upstream, 0 for text Go cannot read, so a model of unreadable size falls outside
    every range that starts above 0."""
    try:
        return _read(text)
    except (FloatSyntaxError, FloatRangeError):
        return 0.0


def size_problem(text: str) -> str | None:
    """Why ``text`` is no usable size, naming the accepted forms; None when it is one.

    NaN is refused although Go reads it: it compares false with everything, so upstream
    found a NaN-sized model inside every range."""
    try:
        value = _read(text)
    except FloatRangeError:
        why = "is out of a float64's range"
    except FloatSyntaxError:
        why = "is not a size"
    else:
        if not math.isnan(value):
            return None
        why = "is not a number"
    return f"{text!r} {why}; accepted: {ACCEPTED_SIZES}"


def size_text_problems(obj: ApiObject) -> list[tuple[str, str]]:
    """(field, problem) for each size text of a runtime (``spec.modelSizeRange``) or a
    model (``spec.modelParameterSize``) that :func:`size_problem` refuses."""
    spec = getattr(obj, "spec", None)
    texts: list[tuple[str, str | None]] = []
    if isinstance(spec, ServingRuntimeSpec) and spec.model_size_range is not None:
        bounds = spec.model_size_range
        texts = [("spec.modelSizeRange.min", bounds.min), ("spec.modelSizeRange.max", bounds.max)]
    elif isinstance(spec, BaseModelSpec):
        texts = [("spec.modelParameterSize", spec.model_parameter_size)]
    problems = ((field, size_problem(text)) for field, text in texts if text is not None)
    return [(field, problem) for field, problem in problems if problem is not None]


def _read(text: str) -> float:
    multiplier = _MULTIPLIERS.get(text[-1:])
    if multiplier is None:
        return parse_float(text)
    return parse_float(text[:-1]) * multiplier
