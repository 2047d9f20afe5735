"""Numbers read as Go's strconv.ParseFloat(text, 64) reads them.

Every expected value and error below was taken from Go's strconv.ParseFloat (Go 1.26):
the value it returns, or ErrSyntax / ErrRange."""

from __future__ import annotations

import math

import pytest

from ome.serving.gofloat import FloatRangeError, FloatSyntaxError, parse_float


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("-0", -0.0),
        ("+1", 1.0),
        ("0.1", 0.1),
        (".5", 0.5),
        ("5.", 5.0),
        ("1E-3", 0.001),
        ("1_000", 1000.0),  # underscores between digits, as in Go literals
        ("1e1_0", 1e10),
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("0x1p-2", 0.25),
        ("0X1.8P1", 3.0),
        ("0x_1p0", 1.0),  # after the base prefix too
        ("0x.8p1", 1.0),
        ("0x1_fp0", 31.0),
        ("0x1p-1074", 5e-324),
        ("0x1p-1075", 0.0),  # half the smallest denormal: rounds to even, 0
        ("0x1.00000000000008p0", 1.0),  # a tie rounds to even
        ("0x1.000000000000181p0", 1.0000000000000004),
        ("0x1.fffffffffffff7ffffp1023", 1.7976931348623157e308),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("4.9e-324", 5e-324),
        ("1e-400", 0.0),  # too small is 0, not an error
        ("Inf", math.inf),
        ("iNf", math.inf),
        ("-Infinity", -math.inf),
    ],
)
def test_numbers_go_reads(text: str, value: float) -> None:
    parsed = parse_float(text)
    assert parsed == value
    assert math.copysign(1.0, parsed) == math.copysign(1.0, value)


@pytest.mark.parametrize("text", ["NaN", "nan", "nAN"])
def test_nan_is_a_number_to_go(text: str) -> None:
    assert math.isnan(parse_float(text))


@pytest.mark.parametrize(
    "text",
    ["1e400", "-1e400", "1.7976931348623159e308", "0x1p1024", "0x1.fffffffffffff8p1023"],
)
def test_numbers_beyond_a_float64_are_range_errors(text: str) -> None:
    with pytest.raises(FloatRangeError):
        parse_float(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1__000",
        "_1",
        "1_",
        "1_.5",
        "1._5",
        "1_e1",
        "1e_1",
        "1e",
        "1e+",
        "e5",
        ".",
        "1.2.3",
        "1e1.5",
        "--1",
        "1,000",
        "\u0661\u0662",  # Arabic-Indic digits, which Python's float() accepts
        "0x",
        "0x1",  # a hexadecimal mantissa needs its p exponent
        "0xp1",
        "0x1p",
        "0x1_p0",
        "0x1p_1",
        "0b101",
        "0o17",
        "infin",
        "Infinit",
        "+NaN",  # only infinities take a sign
        "-nan",
    ],
)
def test_texts_go_refuses(text: str) -> None:
    with pytest.raises(FloatSyntaxError):
        parse_float(text)
