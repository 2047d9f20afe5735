"""Generate docs/reference/api.md, the field reference of the ome.io API, from the pydantic
models of ``ome.api.v1beta1`` (every kind of its ``KINDS`` registry).

    python tools/codegen/api_reference.py [--check]

writes the file (``--check``: writes nothing and exits 1 when the committed file differs
from what the models give).

Per kind: group, version, kind, scope, plural, short names, categories, the status
subresource and the printer columns; then a table per object type (field by its JSON name,
type, default, whether required, description from the field or from its constraints). An
object type used by several kinds is described under the first and linked from the
others. Embedded Kubernetes types (``ome.api.k8s``) are not expanded: they link to the
Kubernetes API reference of the version they were generated from; a type that extends one
lists only the fields it adds or changes.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import StringConstraints
from pydantic.fields import FieldInfo

from ome.api import k8s
from ome.api.meta import ApiObject
from ome.api.types import QUANTITY_PATTERN, Format, IntOrStringRule, KubeModel, ListType
from ome.api.v1beta1 import KINDS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUTPUT = REPO / "docs" / "reference" / "api.md"
SNAPSHOT = HERE / "k8s-openapi.json"
_SCALARS = {str: "string", bool: "boolean", int: "integer", float: "number"}
# Definition prefixes of the snapshot, and the anchor suffix of the Kubernetes reference.
_GROUPS = (
    ("io.k8s.apimachinery.pkg.apis.meta.v1.", "v1-meta"),
    ("io.k8s.api.core.v1.", "v1-core"),
    ("io.k8s.api.apps.v1.", "v1-apps"),
)


class Reference:
    """Where each Kubernetes type is described: the API reference of the version the
    embedded types were generated from."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        version = ".".join(str(snapshot["kubernetes"]).split(".")[:2])
        self.base = f"https://kubernetes.io/docs/reference/generated/kubernetes-api/{version}/"
        self.anchors: dict[str, str] = {}
        for definition in snapshot["schemas"]:
            for prefix, suffix in _GROUPS:
                if definition.startswith(prefix):
                    name = definition.removeprefix(prefix)
                    self.anchors.setdefault(name, f"{name.lower()}-{suffix}")

    def link(self, model: type[KubeModel]) -> str:
        name = model.__name__
        anchor = self.anchors.get(name, f"{name.lower()}-v1-core")
        return f"[{name}]({self.base}#{anchor})"


def kubernetes_base(model: type[KubeModel]) -> type[KubeModel] | None:
    """The generated Kubernetes type the model is or extends, if any."""
    for base in model.__mro__:
        if (
            isinstance(base, type)
            and issubclass(base, KubeModel)
            and base.__module__ == k8s.__name__
        ):
            return base
    return None


def declared_by(model: type[KubeModel], name: str) -> type:
    """The class of the MRO that declares (or last re-declares) field ``name``."""
    for base in model.__mro__:
        if name in getattr(base, "__annotations__", {}):
            return base
    return model


def own_fields(model: type[KubeModel]) -> dict[str, FieldInfo]:
    """The fields to describe: those not declared by a Kubernetes type."""
    return {
        name: field
        for name, field in model.model_fields.items()
        if declared_by(model, name).__module__ != k8s.__name__
    }


def is_linked(model: type[KubeModel]) -> bool:
    """A Kubernetes type, or one that adds no field to it (only validation)."""
    return kubernetes_base(model) is not None and not own_fields(model)


def models_in(annotation: Any) -> Iterator[type[KubeModel]]:
    """The object types an annotation refers to."""
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        yield annotation
        return
    for argument in get_args(annotation):
        yield from models_in(argument)


class Renderer:
    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.anchors: dict[type[KubeModel], str] = {}

    def anchor(self, model: type[KubeModel]) -> str:
        return self.anchors[model]

    def assign_anchors(
        self, kinds: Sequence[type[ApiObject]]
    ) -> dict[type[ApiObject], list[type[KubeModel]]]:
        """Each kind's object types in the order they are described (each type under the
        first kind that reaches it), with a unique heading anchor per type."""
        taken: set[str] = set()
        sections: dict[type[ApiObject], list[type[KubeModel]]] = {}
        for kind in kinds:
            found: list[type[KubeModel]] = []
            self._walk(kind, found)
            sections[kind] = found
            for model in found:
                anchor = model.__name__.lower()
                if anchor in taken:  # the same name in two modules
                    anchor = f"{kind.KIND.lower()}-{anchor}"
                taken.add(anchor)
                self.anchors[model] = anchor
        return sections

    def _walk(self, model: type[KubeModel], found: list[type[KubeModel]]) -> None:
        if model in found or model in self.anchors or is_linked(model):
            return
        found.append(model)
        for _, field in sorted(own_fields(model).items(), key=lambda item: _json_name(*item)):
            for nested in models_in(field.annotation):
                self._walk(nested, found)

    def type_name(self, model: type[KubeModel]) -> str:
        if is_linked(model):
            base = kubernetes_base(model)
            assert base is not None
            return self.reference.link(base)
        return f"[{model.__name__}](#{self.anchor(model)})"

    def describe_type(self, annotation: Any, metadata: Sequence[Any] = ()) -> tuple[str, list[str]]:
        """The type as written in the table, and notes for the description."""
        notes = [note for item in metadata if (note := _constraint(item))]
        if any(isinstance(item, IntOrStringRule) for item in metadata):
            rule = next(item for item in metadata if isinstance(item, IntOrStringRule))
            if rule.pattern == QUANTITY_PATTERN:
                return "quantity", notes
            return "integer or string", [
                *notes,
                *([f"Pattern `{rule.pattern}`."] if rule.pattern else []),
            ]
        formats = [item.name for item in metadata if isinstance(item, Format)]
        origin, arguments = get_origin(annotation), get_args(annotation)
        if origin is Annotated:
            inner, more = self.describe_type(arguments[0], [*metadata, *annotation.__metadata__])
            return inner, more
        if origin in (Union, types.UnionType):
            present = [a for a in arguments if a is not type(None)]
            return self.describe_type(present[0], metadata)
        if origin is Literal:
            values = ", ".join(f"`{v}`" if v != "" else '`""`' for v in arguments)
            return _SCALARS[type(arguments[0])], [*notes, f"One of {values}."]
        if origin is list:
            inner, more = self.describe_type(arguments[0])
            return f"[]{inner}", [*notes, *more]
        if origin is dict:
            if arguments[1] is Any:
                return "object", [*notes, "Free-form."]
            inner, more = self.describe_type(arguments[1])
            return f"map[string]{inner}", [*notes, *more]
        if isinstance(annotation, type) and issubclass(annotation, KubeModel):
            return self.type_name(annotation), notes
        if annotation is Any:
            return "any", notes
        name = _SCALARS[annotation]
        if formats:
            name += f" ({formats[0]})"
        return name, notes

    def field_row(self, name: str, field: FieldInfo) -> list[str]:
        kind, notes = self.describe_type(field.annotation, field.metadata)
        if "date-time" in kind:
            kind = "time"
            notes.append("RFC 3339.")
        description = " ".join((field.description or "").split())
        if description and not description.endswith("."):
            description += "."
        default = ""
        if not field.is_required() and field.default_factory is None and field.default is not None:
            default = f"`{json.dumps(field.default)}`"
        required = "yes" if field.is_required() else ""
        return [
            f"`{_json_name(name, field)}`",
            kind,
            default,
            required,
            " ".join([description, *notes]).strip(),
        ]

    def object_table(
        self, model: type[KubeModel], kind: type[ApiObject] | None = None
    ) -> list[str]:
        heading = [f"### {model.__name__}", ""]
        if self.anchor(model) != model.__name__.lower():
            heading = [f'<a id="{self.anchor(model)}"></a>', "", *heading]
        lines = heading
        doc = inspect.getdoc(model) if model.__doc__ else None
        if doc and doc != inspect.getdoc(KubeModel) and (kind is None or model is not kind):
            lines += [" ".join(doc.split()), ""]
        base = kubernetes_base(model)
        if base is not None:
            lines += [
                f"The fields of the Kubernetes {self.reference.link(base)}, with these added or "
                "changed:",
                "",
            ]
        rows = []
        fields = sorted(own_fields(model).items(), key=lambda item: _json_name(*item))
        for name, field in fields:
            if kind is not None and name in ("api_version", "kind"):
                value = kind.API_VERSION if name == "api_version" else kind.KIND
                rows.append([f"`{_json_name(name, field)}`", "string", "", "", f"`{value}`"])
            elif kind is not None and name == "metadata":
                link = self.reference.link(k8s.ObjectMeta)
                rows.append(
                    ["`metadata`", link, "", "yes", "`name` or `generateName` is required."]
                )
            else:
                rows.append(self.field_row(name, field))
        lines += _table(["Field", "Type", "Default", "Required", "Description"], rows)
        return [*lines, ""]

    def kind_section(self, kind: type[ApiObject], models: list[type[KubeModel]]) -> list[str]:
        group, version = kind.API_VERSION.split("/")
        facts = [
            ("Group", f"`{group}`"),
            ("Version", f"`{version}`"),
            ("Kind", f"`{kind.KIND}`"),
            ("Scope", kind.SCOPE),
            ("Plural", f"`{kind.PLURAL}`"),
            ("Short names", ", ".join(f"`{n}`" for n in kind.SHORT_NAMES) or "none"),
            ("Categories", ", ".join(f"`{c}`" for c in kind.CATEGORIES) or "none"),
            ("Status subresource", "yes" if kind.STATUS_SUBRESOURCE else "no"),
        ]
        lines = [f"## {kind.KIND}", ""]
        if kind.__doc__:
            lines += [" ".join(inspect.cleandoc(kind.__doc__).split()), ""]
        lines += _table(["", ""], [[f"**{name}**", value] for name, value in facts])
        lines.append("")
        if kind.PRINTER_COLUMNS:
            lines += ["Columns of `kubectl get`:", ""]
            rows = [[c.name, c.type, f"`{c.json_path}`"] for c in kind.PRINTER_COLUMNS]
            lines += [*_table(["Name", "Type", "JSONPath"], rows), ""]
        for model in models:
            lines += self.object_table(model, kind if model is kind else None)
        return lines

    def document(self, kinds: Sequence[type[ApiObject]]) -> str:
        sections = self.assign_anchors(kinds)
        group_version = kinds[0].API_VERSION
        lines = [
            f"# API reference: {group_version}",
            "",
            "<!-- Generated by tools/codegen/api_reference.py from ome.api; do not edit. -->",
            "",
            "Every kind of the API, and the fields of each object type by JSON name. Embedded",
            "Kubernetes types (PodSpec, Container, ObjectMeta, ...) link to the Kubernetes API",
            "reference. How the API relates to upstream OME, and how to validate manifests",
            "offline: [api.md](../api.md).",
            "",
        ]
        rows = [
            [f"[{k.KIND}](#{self.anchor(k)})", k.SCOPE, ", ".join(k.SHORT_NAMES), _summary(k)]
            for k in kinds
        ]
        lines += [*_table(["Kind", "Scope", "Short names", "Description"], rows), ""]
        for kind in kinds:
            lines += self.kind_section(kind, sections[kind])
        return "\n".join(lines).rstrip() + "\n"


def _json_name(name: str, field: FieldInfo) -> str:
    return field.alias or name


def _constraint(item: Any) -> str | None:
    if isinstance(item, annotated_types.Ge):
        return f"Minimum {item.ge}."
    if isinstance(item, StringConstraints):
        parts = []
        if item.min_length is not None:
            parts.append(f"Minimum length {item.min_length}.")
        if item.max_length is not None:
            parts.append(f"Maximum length {item.max_length}.")
        if item.pattern is not None:
            parts.append(f"Pattern `{item.pattern}`.")
        return " ".join(parts) or None
    if isinstance(item, ListType):
        if item.kind == "map":
            return f"Entries are unique by {', '.join(f'`{k}`' for k in item.keys)}."
        if item.kind == "set":
            return "Items are unique."
    return None


def _summary(kind: type[ApiObject]) -> str:
    doc = inspect.cleandoc(kind.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows),
    ]


def render() -> str:
    reference = Reference(json.loads(SNAPSHOT.read_text()))
    return Renderer(reference).document(list(KINDS.values()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a drift")
    args = parser.parse_args(argv)
    text = render()
    relative = OUTPUT.relative_to(REPO)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{relative} is stale: run tools/codegen/{Path(__file__).name}")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
