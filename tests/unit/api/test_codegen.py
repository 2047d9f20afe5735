"""The generator of the embedded Kubernetes types: its rules, and that the committed module
is what the committed snapshot gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.scripts import load_script

GENERATOR = Path(__file__).resolve().parents[3] / "tools" / "codegen" / "k8s_types.py"


@pytest.fixture(scope="module")
def codegen() -> ModuleType:
    return load_script(GENERATOR)


def test_committed_module_is_reproduced_from_the_snapshot() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "render", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("json_name", "python_name"),
    [
        ("imagePullPolicy", "image_pull_policy"),
        ("hostIPC", "host_ipc"),
        ("volumeID", "volume_id"),
        ("type", "type"),
        ("schema", "schema_"),
        ("from", "from_"),
    ],
)
def test_python_names(codegen: ModuleType, json_name: str, python_name: str) -> None:
    assert codegen.python_name(json_name) == python_name


def test_mapping_rules(codegen: ModuleType) -> None:
    schemas = {
        "io.k8s.api.core.v1.Port": {
            "type": "object",
            "required": ["port"],
            "properties": {
                "port": {"type": "integer", "format": "int32", "default": 0},
                "protocol": {"type": "string", "default": "TCP", "enum": ["TCP", "UDP"]},
                "hostIP": {"type": "string"},
            },
        },
        "io.k8s.api.core.v1.Pod": {
            "type": "object",
            "x-kubernetes-map-type": "atomic",
            "properties": {
                "ports": {
                    "type": "array",
                    "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Port"}]},
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["port", "protocol"],
                },
                "limits": {
                    "type": "object",
                    "additionalProperties": {
                        "$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"
                    },
                },
                "meta": {
                    "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Port"}],
                    "default": {},
                },
            },
        },
    }
    source = codegen.Renderer(schemas).module("v1.0.0")
    assert source.index("class Port(") < source.index("class Pod(")  # users after their types
    assert "    port: Int32\n" in source  # a required field's zero default is dropped
    assert "    protocol: str | None = 'TCP'\n" in source  # an optional scalar's is kept
    assert "host_ip: str | None = Field(default=None, alias='hostIP')" in source
    assert 'Annotated[list[Port], list_map("port", "protocol")] | None = None' in source
    assert "limits: dict[str, Quantity] | None = None" in source
    assert "meta: Port | None = None" in source  # {} is no default
    assert "    MAP_TYPE = ATOMIC_MAP\n" in source
