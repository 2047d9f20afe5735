"""Generate api/k8s.py, the Kubernetes types embedded in the ome.io API, from the API
server's OpenAPI v3 documents.

Two steps, so that the second one is reproducible offline:

    python tools/codegen/k8s_types.py fetch [--kubeconfig PATH]
        reads the documents from a control plane (by default a throwaway one started with
        ome.testing) and writes the definitions transitively needed by ROOTS, reduced to
        what the generator reads, to tools/codegen/k8s-openapi.json;
    python tools/codegen/k8s_types.py render [--check]
        writes api/k8s.py from that snapshot, formatted by ruff (--check: exit 1 when the
        committed file differs from what the snapshot gives).

Mapping rules (they mirror what controller-gen puts in a CRD for these types): enums are
left out (the embedding CRDs do not restrict them); a default is kept only for an optional
scalar (``{}`` and a required field's zero value are artefacts of Go struct defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import keyword
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pydantic

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SNAPSHOT = HERE / "k8s-openapi.json"
OUTPUT = REPO / "api" / "k8s.py"

# OpenAPI v3 document path -> the definitions the ome.io types embed from it.
ROOTS: dict[str, tuple[str, ...]] = {
    "api/v1": (
        "io.k8s.api.core.v1.PodSpec",
        "io.k8s.api.core.v1.Container",
        "io.k8s.api.core.v1.ResourceRequirements",
        "io.k8s.api.core.v1.Affinity",
        "io.k8s.api.core.v1.NodeAffinity",
        "io.k8s.api.core.v1.Toleration",
        "io.k8s.api.core.v1.EnvVar",
        "io.k8s.api.core.v1.EnvFromSource",
        "io.k8s.api.core.v1.Volume",
        "io.k8s.api.core.v1.VolumeMount",
        "io.k8s.api.core.v1.LocalObjectReference",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    ),
    "apis/apps/v1": ("io.k8s.api.apps.v1.DeploymentStrategy",),
}
# Definitions that map to a value type of ome.api.types instead of a generated class.
VALUE_TYPES = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "dict[str, Any]",
}
# The keys of a schema the generator reads; the snapshot keeps only these.
KEPT_KEYS = (
    "type",
    "format",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "$ref",
    "allOf",
    "default",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
)
RESERVED = set(dir(pydantic.BaseModel)) | set(keyword.kwlist) | {"Any", "Field"}


# -- fetch -----------------------------------------------------------------------------


def _ref_name(schema: Mapping[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for part in schema.get("allOf", ()):
        if "$ref" in part:
            return str(part["$ref"]).rsplit("/", 1)[-1]
    return None


def _references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        name = _ref_name(schema)
        if name:
            yield name
        for value in schema.values():
            yield from _references(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _references(value)


def _reduce(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Keep only KEPT_KEYS, in the schema and in the schemas nested in it."""
    reduced: dict[str, Any] = {}
    for key in KEPT_KEYS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties":
            value = {name: _reduce(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = _reduce(value)
        elif key == "allOf":
            value = [_reduce(part) for part in value]
        reduced[key] = value
    return reduced


def closure(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The definitions reachable from ROOTS, each reduced to KEPT_KEYS."""
    found: dict[str, Any] = {}
    for path, roots in ROOTS.items():
        schemas = documents[path]["components"]["schemas"]
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            found[name] = _reduce(schemas[name])
            pending += [n for n in _references(schemas[name]) if n not in VALUE_TYPES]
    return dict(sorted(found.items()))


async def _download(kubeconfig: Path | None) -> tuple[str, dict[str, Any]]:
    from ome.client import Client, load_configuration  # noqa: PLC0415 - only to fetch
    from ome.testing import ControlPlane  # noqa: PLC0415 - only to fetch

    async def read(client: Client) -> tuple[str, dict[str, Any]]:
        version = (await client.get("/version"))["gitVersion"]
        documents = {path: await client.get(f"/openapi/v3/{path}") for path in ROOTS}
        return version, documents

    if kubeconfig is not None:
        async with Client(await load_configuration(kubeconfig)) as client:
            return await read(client)
    async with ControlPlane() as plane, await plane.client() as client:
        return await read(client)


def fetch(kubeconfig: Path | None) -> None:
    version, documents = asyncio.run(_download(kubeconfig))
    snapshot = {"kubernetes": version, "schemas": closure(documents)}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT.relative_to(REPO)}: {len(snapshot['schemas'])} definitions")


# -- render ----------------------------------------------------------------------------


def python_name(json_name: str) -> str:
    snake = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", json_name)
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", snake).lower()
    return f"{snake}_" if snake in RESERVED else snake


class Renderer:
    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas
        self.class_names = {name: name.rsplit(".", 1)[-1] for name in schemas}
        clashes = len(set(self.class_names.values())) != len(self.class_names)
        if clashes:
            raise SystemExit("two definitions share a short name: extend the naming rule")
        self.imports: set[str] = set()

    def type_of(self, schema: Mapping[str, Any]) -> str:
        ref = _ref_name(schema)
        if ref in VALUE_TYPES:
            value = VALUE_TYPES[ref]
            self.imports.add("Any" if value.startswith("dict") else value)
            return value
        if ref is not None:
            return self.class_names[ref]
        kind = schema.get("type")
        if kind == "array":
            return self._annotated(f"list[{self.type_of(schema['items'])}]", self._list(schema))
        if kind == "object":
            if "additionalProperties" not in schema:
                self.imports.add("Any")
                return "dict[str, Any]"
            inner = self.type_of(schema["additionalProperties"])
            marker = None
            if schema.get("x-kubernetes-map-type") == "atomic":
                marker = "ATOMIC_MAP"
                self.imports.add(marker)
            return self._annotated(f"dict[str, {inner}]", marker)
        return self._scalar(schema)

    def _scalar(self, schema: Mapping[str, Any]) -> str:
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "integer":
            name = {"int32": "Int32", "int64": "Int64"}.get(fmt or "", "int")
            if name != "int":
                self.imports.add(name)
            return name
        simple = {"string": "str", "boolean": "bool", "number": "float"}
        if kind not in simple:
            raise SystemExit(f"unsupported schema {schema}")
        return simple[kind]

    def _list(self, schema: Mapping[str, Any]) -> str | None:
        kind = schema.get("x-kubernetes-list-type")
        if kind == "map":
            self.imports.add("list_map")
            keys = ", ".join(json.dumps(k) for k in schema["x-kubernetes-list-map-keys"])
            return f"list_map({keys})"
        if kind in ("atomic", "set"):
            marker = "ATOMIC" if kind == "atomic" else "SET"
            self.imports.add(marker)
            return marker
        return None

    def _annotated(self, expression: str, marker: str | None) -> str:
        if marker is None:
            return expression
        self.imports.add("Annotated")
        return f"Annotated[{expression}, {marker}]"

    def field(self, json_name: str, schema: Mapping[str, Any], required: bool) -> str:
        name = python_name(json_name)
        annotation = self.type_of(schema)
        default: str | None = None
        if not required:
            annotation += " | None"
            value = schema.get("default")
            default = repr(value) if isinstance(value, str | int | bool) else "None"
        if name == json_name:
            return f"    {name}: {annotation}" + (f" = {default}" if default else "")
        self.imports.add("Field")
        arguments = ([f"default={default}"] if default else []) + [f"alias={json_name!r}"]
        return f"    {name}: {annotation} = Field({', '.join(arguments)})"

    def model(self, name: str) -> str:
        schema = self.schemas[name]
        properties = schema.get("properties")
        if not properties:
            raise SystemExit(f"{name} has no properties: map it in VALUE_TYPES")
        required = set(schema.get("required", ()))
        lines = [f"class {self.class_names[name]}(KubeModel):"]
        if schema.get("x-kubernetes-map-type") == "atomic":  # a +structType=atomic struct
            self.imports.add("ATOMIC_MAP")
            lines.append("    MAP_TYPE = ATOMIC_MAP")
        lines += [self.field(p, properties[p], p in required) for p in sorted(properties)]
        return "\n".join(lines)

    def order(self) -> list[str]:
        """Definitions before their users (the types are acyclic), by name otherwise."""
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in path:
                raise SystemExit(f"recursive types are not supported: {' -> '.join(path)}")
            for ref in sorted(set(_references(self.schemas[name])) - VALUE_TYPES.keys()):
                visit(ref, (*path, name))
            done.append(name)

        for name in sorted(self.schemas):
            visit(name, ())
        return done

    def module(self, kubernetes: str) -> str:
        body = "\n\n\n".join(self.model(name) for name in self.order())
        typing_names = sorted(self.imports & {"Annotated", "Any"})
        ome_names = sorted(self.imports - {"Annotated", "Any", "Field"}, key=str.lower)
        header = [
            f'"""Kubernetes {kubernetes} types embedded in the ome.io API.',
            "",
            "Generated by tools/codegen/k8s_types.py from the API server's OpenAPI v3 documents;",
            'do not edit: change the generator (or refresh its snapshot) and run it again."""',
            "",
        ]
        if typing_names:
            header.append(f"from typing import {', '.join(typing_names)}")
            header.append("")
        if "Field" in self.imports:
            header += ["from pydantic import Field", ""]
        header.append(f"from ome.api.types import {', '.join(['KubeModel', *ome_names])}")
        return "\n".join(header) + "\n\n\n" + body + "\n"


def _ruff(arguments: list[str], source: str) -> str:
    ruff = Path(sys.executable).with_name("ruff")
    command = [str(ruff), *arguments, "--stdin-filename", str(OUTPUT), "-"]
    done = subprocess.run(
        command, input=source, capture_output=True, text=True, cwd=REPO, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"ruff {arguments[0]} failed on the generated code:\n{done.stdout}")
    return done.stdout


def formatted(source: str) -> str:
    """Sort the imports and format as ruff does for hand-written code."""
    return _ruff(["format"], _ruff(["check", "--select", "I", "--fix", "--quiet"], source))


def render() -> str:
    snapshot = json.loads(SNAPSHOT.read_text())
    return formatted(Renderer(snapshot["schemas"]).module(snapshot["kubernetes"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    fetch_step = steps.add_parser("fetch", help="refresh the snapshot from a control plane")
    fetch_step.add_argument("--kubeconfig", type=Path, help="use this cluster instead")
    render_step = steps.add_parser("render", help="write api/k8s.py from the snapshot")
    render_step.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    if args.step == "fetch":
        fetch(args.kubeconfig)
        return 0
    source = render()
    if args.check:
        if OUTPUT.read_text() != source:
            print(f"{OUTPUT.relative_to(REPO)} is stale: run {Path(__file__).name} render")
            return 1
        return 0
    OUTPUT.write_text(source)
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
