"""Versions as upstream's modelver reads and compares them."""

from __future__ import annotations

import pytest

from ome.serving.modelver import Version, parse, satisfies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Version(1, 0, 0, "", 1)),
        ("v1.12", Version(1, 12, 0, "v", 2)),
        ("4.43.0.dev0", Version(4, 43, 0, "", 3, dev=("dev0",))),
        ("4.51.3-SAM-HQ-preview", Version(4, 51, 3, "", 3, pre=("SAM-HQ-preview",))),
        ("1.0.0-rc.1+build.5", Version(1, 0, 0, "", 3, pre=("rc", "1"), build=("build", "5"))),
    ],
)
def test_parse(text: str, expected: Version) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", "01.0", "1.x", "V1", "1.0.0-", "1.0.0+a..b", "1.-1"])
def test_parse_refuses_what_upstream_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"empty|number|leading zero|identifier"):
        parse(text)


@pytest.mark.parametrize(
    ("runtime", "operator", "model", "expected"),
    [
        ("1.0.0", "Equal", "1.0.0", True),
        ("1.0", "Equal", "1.0.0", True),  # equality ignores precision
        ("1.0.0", None, "1.0.1", False),  # no operator: Equal
        ("4.50.0", "GreaterThan", "4.42.3", True),  # the runtime's version is greater
        ("4.42.3", "GreaterThan", "4.42.3", False),
        ("4.42.3", "GreaterThanOrEqual", "4.42.3", True),
        ("4.40.0", "GreaterThanOrEqual", "4.42.3", False),
        ("4.50", "GreaterThan", "4.42.3", False),  # ordering needs the same precision
        ("v5.0.0", "GreaterThan", "4.0.0", False),  # and the same prefix
        ("4.50.0.dev0", "GreaterThan", "4.42.0", False),  # unofficial: equality only
        ("4.42.0.dev0", "GreaterThan", "4.42.0.dev0", True),
        ("2.0.0", "Sideways", "1.0.0", False),  # unknown operator: Equal
        ("x", "Equal", "x", False),  # unparsable never matches
    ],
)
def test_satisfies(runtime: str, operator: str | None, model: str, expected: bool) -> None:
    assert satisfies(runtime, operator, model) is expected
