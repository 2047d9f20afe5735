"""The structural OpenAPI v3 schema of an API type, as a CRD carries it: read from the
pydantic fields (names, types, requiredness, defaults, descriptions) and from the markers
and constraints in their annotations."""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import StringConstraints
from pydantic.fields import FieldInfo

from ome.api.types import Format, IntOrStringRule, KubeModel, ListType, MapType

Schema = dict[str, Any]
_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}


def object_schema(model: type[KubeModel]) -> Schema:
    """The schema of a model class: an object with its fields as properties."""
    properties = {(f.alias or name): field_schema(f) for name, f in model.model_fields.items()}
    schema: Schema = {"type": "object", "properties": dict(sorted(properties.items()))}
    required = sorted((f.alias or n) for n, f in model.model_fields.items() if f.is_required())
    if required:
        schema["required"] = required
    if model.MAP_TYPE is not None:
        schema["x-kubernetes-map-type"] = model.MAP_TYPE.kind
    if model.model_config.get("extra") == "allow":
        schema["x-kubernetes-preserve-unknown-fields"] = True
    if model.__doc__:
        schema["description"] = inspect.cleandoc(model.__doc__)
    return schema


def field_schema(field: FieldInfo) -> Schema:
    schema = _annotated(field.annotation, field.metadata)
    if field.description:
        schema["description"] = field.description
    if field.default is not None and field.default_factory is None and not field.is_required():
        schema["default"] = field.default
    return schema


def type_schema(annotation: Any) -> Schema:
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _annotated(arguments[0], annotation.__metadata__)
    if origin in (Union, types.UnionType):
        (present,) = (a for a in arguments if a is not type(None))  # only X | None is used
        return type_schema(present)
    if origin is Literal:
        return {"type": _SCALARS[type(arguments[0])], "enum": list(arguments)}
    if origin is list:
        return {"type": "array", "items": type_schema(arguments[0])}
    if origin is dict:
        if arguments[1] is Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object", "additionalProperties": type_schema(arguments[1])}
    if isinstance(annotation, type) and issubclass(annotation, KubeModel):
        return object_schema(annotation)
    return {"type": _SCALARS[annotation]}


def _annotated(annotation: Any, metadata: Sequence[Any]) -> Schema:
    if any(isinstance(item, IntOrStringRule) for item in metadata):
        return _constrained({}, metadata)  # the rule stands for the union int | str
    return _constrained(type_schema(annotation), metadata)


def _constrained(schema: Schema, metadata: Iterable[Any]) -> Schema:
    """Apply the markers and constraints of an annotation to the schema of its type."""
    for item in metadata:
        if isinstance(item, IntOrStringRule):
            schema = {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            }
            if item.pattern:
                schema["pattern"] = item.pattern
        elif isinstance(item, Format):
            schema["format"] = item.name
        elif isinstance(item, ListType):
            schema["x-kubernetes-list-type"] = item.kind
            if item.keys:
                schema["x-kubernetes-list-map-keys"] = list(item.keys)
        elif isinstance(item, MapType):
            schema["x-kubernetes-map-type"] = item.kind
        elif isinstance(item, annotated_types.Ge):
            schema["minimum"] = item.ge
        elif isinstance(item, StringConstraints):
            limits = {
                "minLength": item.min_length,
                "maxLength": item.max_length,
                "pattern": item.pattern,
            }
            schema.update({k: v for k, v in limits.items() if v is not None})
        elif isinstance(item, annotated_types.BaseMetadata):
            raise TypeError(f"no CRD schema for the constraint {item!r}: add it here")
    return schema


def root_schema(kind: type[KubeModel]) -> Schema:
    """The schema of a top-level kind: the API server owns ``metadata`` (only its type may
    be given), and type metadata is plain strings."""
    schema = object_schema(kind)
    properties = schema["properties"]
    properties["metadata"] = {"type": "object"}
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    schema["required"] = [r for r in schema.get("required", ()) if r != "metadata"]
    if not schema["required"]:
        del schema["required"]
    return schema
