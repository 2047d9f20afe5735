"""The JSON codec: fast where it is exact, the standard library where it would not be."""

from __future__ import annotations

import json

import pytest

from ome.client import codec

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "resourceVersion": "123456789"},
    "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}}}},
    "status": {"ratio": 0.5, "note": "ünïcödé ✓", "empty": None, "on": True},
}


def test_loads_reads_what_the_standard_library_reads() -> None:
    data = json.dumps(DEPLOYMENT).encode()
    assert codec.loads(data) == json.loads(data) == DEPLOYMENT


@pytest.mark.parametrize(
    "number",
    [
        18446744073709551616,  # one past the largest unsigned 64-bit integer
        -9223372036854775809,  # one below the smallest signed one
        123456789012345678901234567890,
    ],
)
def test_integers_beyond_64_bits_keep_every_digit(number: int) -> None:
    decoded = codec.loads(json.dumps({"spec": {"value": number}}).encode())
    assert decoded["spec"]["value"] == number
    assert type(decoded["spec"]["value"]) is int


def test_a_long_digit_string_is_read_as_a_string() -> None:
    assert codec.loads(b'{"id": "12345678901234567890"}') == {"id": "12345678901234567890"}


def test_integers_within_64_bits_are_exact() -> None:
    data = b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 1844674407370955161}'
    assert codec.loads(data) == {
        "a": 9223372036854775807,
        "b": -9223372036854775808,
        "c": 1844674407370955161,
    }


def test_broken_json_raises_the_standard_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        codec.loads(b'{"a": ')
