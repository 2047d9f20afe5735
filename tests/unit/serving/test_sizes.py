"""Parameter sizes."""

from __future__ import annotations

import pytest

from ome.serving.sizes import parse_size


@pytest.mark.parametrize(
    ("text", "parameters"),
    [
        ("7B", 7e9),
        ("7.11B", 7.11e9),
        ("1.5T", 1.5e12),
        ("400M", 4e8),
        ("1000", 1000.0),
        ("0.6B", 0.6e9),
        ("7b", 0.0),  # lower-case suffixes are not read, as upstream
        (" 7B", 0.0),
        ("B", 0.0),
        ("", 0.0),
    ],
)
def test_parse_size(text: str, parameters: float) -> None:
    assert parse_size(text) == pytest.approx(parameters)
