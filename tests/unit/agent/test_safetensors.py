from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ome.agent.safetensors import Header, SafetensorsError, read_header
from tests.unit.agent.helpers import MINILM, MINILM_PARAMETERS, write_safetensors


def test_reads_the_real_models_header() -> None:
    weights = MINILM / "model.safetensors"
    assert read_header(weights) == Header(MINILM_PARAMETERS, weights.stat().st_size)


def test_a_truncated_file_is_shorter_than_its_header_says(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_safetensors(path, {"w": [10, 10]}, cut=7)
    header = read_header(path)
    assert header.parameter_count == 100
    assert header.expected_size == path.stat().st_size + 7


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x01\x02", "too short"),
        (struct.pack("<Q", 2**40), "not plausible"),
        (struct.pack("<Q", 100) + b"{}", "header cut short"),
        (struct.pack("<Q", 4) + b"nope", "not JSON"),
        (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
        (struct.pack("<Q", 13) + b'{"w":{"a":1}}', "no valid shape"),
    ],
)
def test_garbage_is_an_error_naming_the_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(SafetensorsError, match=problem) as raised:
        read_header(path)
    assert str(path) in str(raised.value)
