"""Parameter sizes, read as upstream's parseModelSize (pkg/runtimeselector/matcher.go)
reads them.

The expected values were taken from Go: upstream's parseModelSize run on each text, its
number read by strconv.ParseFloat (Go 1.26)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from ome.api.meta import ApiObject
from ome.api.v1beta1 import ClusterServingRuntime, ServingRuntime
from ome.serving.sizes import ACCEPTED_SIZES, parse_size, size_problem, size_text_problems
from tests.unit.serving.helpers import cluster_model, namespaced_model

SIZES = [
    ("7B", 7e9),
    ("7.11B", 7.11e9),
    ("70.6B", 7.06e10),
    ("1.5T", 1.5e12),
    ("400M", 4e8),
    ("1000", 1000.0),
    ("0.6B", 6e8),
    ("1_000M", 1e9),
    ("1_000", 1000.0),
    ("1_0.5_0B", 1.05e10),
    ("1e3", 1000.0),
    ("1E3M", 1e9),
    ("1e1_0", 1e10),
    ("2.5e-1B", 2.5e8),
    ("+7B", 7e9),
    ("-7B", -7e9),
    (".5B", 5e8),
    ("5.B", 5e9),
    ("007B", 7e9),
    ("0x1p-2", 0.25),
    ("0x1p-2B", 2.5e8),
    ("0X1.8P1T", 3e12),
    ("0x_1p0M", 1e6),
    ("0x1_fp0", 31.0),
    ("Inf", math.inf),
    ("+Inf", math.inf),
    ("-InfB", -math.inf),
    ("infinity", math.inf),
    ("INFINITYT", math.inf),
    ("1e300T", math.inf),  # the product overflows; the number itself is in range
    ("1e-400", 0.0),
    ("4.9e-324", 5e-324),
]
# Texts Go cannot read: upstream counts them 0.
UNREADABLE = [
    "",
    "B",
    "7b",  # lower-case suffixes are not read
    " 7B",
    "7B ",
    "7 B",
    "7BB",
    "7.5TB",
    "1__000M",
    "_1B",
    "1_B",
    "1_.5B",
    "1._5B",
    "1_e1",
    "1e_1",
    "1e",
    "1e+B",
    "e5",
    ".",
    "1.2.3B",
    "1,000M",
    "\u0661\u0662B",  # Arabic-Indic digits, which Python's float() reads
    "--1",
    "0x",
    "0x1",
    "0x1B",  # the B is the suffix: 0x1 has no p exponent
    "0xp1",
    "0x1p",
    "0x1_p0",
    "0b101",
    "infin",
    "Infinit",
    "+NaN",
    "-nan",
]
OUT_OF_RANGE = ["1e400", "-1e400B", "0x1p1024B", "1.7976931348623159e308"]
NAN = ["NaN", "nan", "NaNB", "nAnT"]


@pytest.mark.parametrize(("text", "parameters"), SIZES)
def test_sizes_read_as_upstream_reads_them(text: str, parameters: float) -> None:
    assert parse_size(text) == parameters
    assert size_problem(text) is None


@pytest.mark.parametrize("text", UNREADABLE + OUT_OF_RANGE)
def test_unreadable_text_counts_zero_as_upstream(text: str) -> None:
    assert parse_size(text) == 0.0


@pytest.mark.parametrize("text", NAN)
def test_nan_reads_as_nan(text: str) -> None:
    assert math.isnan(parse_size(text))


@pytest.mark.parametrize(
    ("texts", "why"),
    [
        (UNREADABLE, "is not a size"),
        (OUT_OF_RANGE, "is out of a float64's range"),
        (NAN, "is not a number"),
    ],
)
def test_what_is_no_size_is_refused_naming_the_accepted_forms(texts: list[str], why: str) -> None:
    for text in texts:
        assert size_problem(text) == f"{text!r} {why}; accepted: {ACCEPTED_SIZES}"


@pytest.mark.parametrize("kind", [ServingRuntime, ClusterServingRuntime])
def test_the_size_texts_of_a_runtime_are_checked(
    kind: type[ServingRuntime | ClusterServingRuntime],
) -> None:
    runtime = kind.model_validate(
        {"metadata": {"name": "rt"}, "spec": {"modelSizeRange": {"min": "NaN", "max": "7b"}}}
    )
    assert size_text_problems(runtime) == [
        ("spec.modelSizeRange.min", size_problem("NaN")),
        ("spec.modelSizeRange.max", size_problem("7b")),
    ]
    open_range = kind.model_validate(
        {"metadata": {"name": "rt"}, "spec": {"modelSizeRange": {"max": "Inf"}}}
    )
    assert size_text_problems(open_range) == []


@pytest.mark.parametrize("make", [cluster_model, namespaced_model])
def test_the_size_of_a_model_is_checked(make: Callable[..., ApiObject]) -> None:
    assert size_text_problems(make(modelParameterSize="1_000M")) == []
    unreadable = make(modelParameterSize="7 B")
    assert size_text_problems(unreadable) == [("spec.modelParameterSize", size_problem("7 B"))]
    assert size_text_problems(make(modelParameterSize=None)) == []
