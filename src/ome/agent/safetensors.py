"""Read safetensors headers without touching the tensors.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON mapping
each tensor name to ``{dtype, shape, data_offsets: [begin, end]}`` (offsets relative to
the end of the header; plus an optional ``__metadata__``), then the tensor data. The
header alone gives the parameter count and the size the whole file must have, so a
truncated file is caught without reading its data.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

# A header is a few MB even for the largest models; a larger length means a corrupt file.
MAX_HEADER_BYTES = 100 * 1024 * 1024
_LENGTH = struct.Struct("<Q")


class SafetensorsError(ValueError):
    """The file is not a readable safetensors file; the message names it."""


@dataclass(frozen=True)
class Header:
    parameter_count: int
    """Elements of all tensors."""
    expected_size: int
    """Bytes the whole file has when complete."""


def read_header(path: Path) -> Header:
    with path.open("rb") as file:
        raw_length = file.read(_LENGTH.size)
        if len(raw_length) < _LENGTH.size:
            raise SafetensorsError(f"{path}: too short to hold a safetensors header")
        (length,) = _LENGTH.unpack(raw_length)
        if length > MAX_HEADER_BYTES:
            raise SafetensorsError(f"{path}: header length {length} is not plausible")
        raw = file.read(length)
    if len(raw) < length:
        raise SafetensorsError(f"{path}: header cut short ({len(raw)} of {length} bytes)")
    try:
        tensors = json.loads(raw)
    except ValueError as err:
        raise SafetensorsError(f"{path}: header is not JSON ({err})") from None
    if not isinstance(tensors, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    parameters = 0
    data_end = 0
    for name, tensor in tensors.items():
        if name == "__metadata__":
            continue
        try:
            shape = [int(d) for d in tensor["shape"]]
            end = int(tensor["data_offsets"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise SafetensorsError(
                f"{path}: tensor {name!r} has no valid shape and offsets"
            ) from None
        parameters += math.prod(shape)
        data_end = max(data_end, end)
    return Header(parameters, _LENGTH.size + length + data_end)
