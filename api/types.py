"""Building blocks of the API types: the base model, Kubernetes' value types (int-or-string,
quantity, time) and the markers that carry Kubernetes schema semantics (list and map types,
formats) from a field's annotation to the CRD schema generated from it.

The markers validate what the API server validates for a CRD (unique keys of a map-list,
unique items of a set, the quantity pattern), so that offline validation and the server
agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import pydantic
from pydantic import ConfigDict
from pydantic_core import PydanticCustomError, core_schema


@dataclass(frozen=True)
class Format:
    """An OpenAPI format (int32, int64, date-time) for the CRD schema."""

    name: str


@dataclass(frozen=True)
class MapType:
    """``x-kubernetes-map-type``: how server-side apply merges a map."""

    kind: Literal["atomic", "granular"]


@dataclass(frozen=True)
class ListType:
    """``x-kubernetes-list-type`` (and ``x-kubernetes-list-map-keys`` of a map-list).

    Like the API server, a set refuses duplicate items and a map-list duplicate keys."""

    kind: Literal["atomic", "set", "map"]
    keys: tuple[str, ...] = ()

    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if self.kind == "atomic":
            return schema
        check = self._unique_items if self.kind == "set" else self._unique_keys
        return core_schema.no_info_after_validator_function(check, schema)

    @staticmethod
    def _unique_items(items: list[Hashable]) -> list[Hashable]:
        seen: set[Hashable] = set()
        for item in items:
            if item in seen:
                raise PydanticCustomError(
                    "duplicate", "duplicate item {item}", {"item": repr(item)}
                )
            seen.add(item)
        return items

    def _unique_keys(self, items: list[pydantic.BaseModel]) -> list[pydantic.BaseModel]:
        seen: set[tuple[Any, ...]] = set()
        for item in items:
            key = tuple(_by_alias(item, name) for name in self.keys)
            if key in seen:
                described = ", ".join(f"{n}={v!r}" for n, v in zip(self.keys, key, strict=True))
                raise PydanticCustomError(
                    "duplicate", "duplicate entry with {key}", {"key": described}
                )
            seen.add(key)
        return items


def _by_alias(model: pydantic.BaseModel, alias: str) -> Any:
    for name, field in type(model).model_fields.items():
        if (field.alias or name) == alias:
            return getattr(model, name)
    raise KeyError(alias)


ATOMIC = ListType("atomic")
SET = ListType("set")
ATOMIC_MAP = MapType("atomic")


def list_map(*keys: str) -> ListType:
    return ListType("map", keys)


class KubeModel(pydantic.BaseModel):
    """Base of every API type. JSON names are aliases of snake_case attributes; inputs are
    taken as the API server takes them: no coercion ("1" is not an integer) and no unknown
    fields (the server would drop them silently)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        # upstream's field names start with model_ (modelFormat → model_format)
        protected_namespaces=(),
        defer_build=True,
    )

    MAP_TYPE: ClassVar[MapType | None] = None
    """How server-side apply merges the object (``x-kubernetes-map-type``): ``atomic``
    replaces it as a whole."""


@dataclass(frozen=True)
class IntOrStringRule:
    """An integer or a string (``x-kubernetes-int-or-string``); ``pattern`` constrains the
    string form. One plain check rather than a union keeps error paths free of union tags."""

    pattern: str | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check(self.pattern))

    @staticmethod
    def _check(pattern: str | None) -> Callable[[Any], int | str]:
        compiled = re.compile(pattern) if pattern else None

        def check(value: Any) -> int | str:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if not isinstance(value, str):
                raise PydanticCustomError("int_or_string", "Input should be an integer or a string")
            if compiled is not None and not compiled.search(value):
                raise PydanticCustomError(
                    "pattern",
                    "{value} should match {pattern}",
                    {"value": repr(value), "pattern": repr(pattern)},
                )
            return value

        return check


QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
    r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: str) -> str:
    if not _RFC3339.match(value):
        raise PydanticCustomError(
            "date_time", "{value} is not an RFC 3339 time", {"value": repr(value)}
        )
    return value


IntOrString = Annotated[int | str, IntOrStringRule()]
Quantity = Annotated[int | str, IntOrStringRule(QUANTITY_PATTERN)]
Time = Annotated[str, Format("date-time"), pydantic.AfterValidator(_rfc3339)]
Int32 = Annotated[int, Format("int32")]
Int64 = Annotated[int, Format("int64")]
