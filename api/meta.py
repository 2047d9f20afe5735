"""What every top-level kind shares: type and object metadata (validated as the API server
validates them), the standard Condition, and the class-level facts a CRD is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from annotated_types import Ge
from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ome.api import k8s
from ome.api.names import (
    label_problem,
    label_value_problem,
    qualified_name_problem,
    subdomain_problem,
)
from ome.api.types import Int64, KubeModel, Time


def _invalid(value: str, problem: str | None) -> None:
    if problem:
        raise PydanticCustomError(
            "invalid_value",
            "Invalid value {value}: {problem}",
            {"value": repr(value), "problem": problem},
        )


class ObjectMeta(k8s.ObjectMeta):
    """Object metadata, with the server's rules for names, namespaces and labels."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None:
            _invalid(value, subdomain_problem(value))
        return value

    @field_validator("generate_name")
    @classmethod
    def _generate_name(cls, value: str | None) -> str | None:
        # a prefix: the server allows a trailing dash before the random suffix
        if value:
            _invalid(value, subdomain_problem(value.removesuffix("-") + "a"))
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value:
            _invalid(value, label_problem(value))
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, label in (value or {}).items():
            _invalid(key, qualified_name_problem(key))
            _invalid(label, label_value_problem(label))
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            _invalid(key, qualified_name_problem(key))
        return value


class Condition(KubeModel):
    """The standard condition (metav1.Condition), with its CRD validation."""

    last_transition_time: Time = Field(alias="lastTransitionTime")
    message: Annotated[str, StringConstraints(max_length=32768)]
    observed_generation: Annotated[Int64, Ge(0)] | None = Field(
        default=None, alias="observedGeneration"
    )
    reason: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
        ),
    ]
    status: Literal["True", "False", "Unknown"]
    type: Annotated[
        str,
        StringConstraints(
            max_length=316,
            pattern=(
                r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
            ),
        ),
    ]


@dataclass(frozen=True)
class PrinterColumn:
    """A column of ``kubectl get`` (a CRD's additionalPrinterColumns entry)."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str


AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")


class ApiObject(KubeModel):
    """A top-level kind. Subclasses set the class variables (``ome.runtime.kinds.gvk_of``
    reads API_VERSION and KIND; the CRD generator reads them all) and their own ``spec``
    and ``status``. ``apiVersion`` and ``kind`` default to the class's own and are always
    serialised, so that a dump can be sent to the API server as is."""

    API_VERSION: ClassVar[str]
    KIND: ClassVar[str]
    PLURAL: ClassVar[str]
    SCOPE: ClassVar[Literal["Namespaced", "Cluster"]]
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ()
    CATEGORIES: ClassVar[tuple[str, ...]] = ("ome",)
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = ()
    STATUS_SUBRESOURCE: ClassVar[bool] = True

    api_version: str = Field(default="", alias="apiVersion")
    kind: str = ""
    metadata: ObjectMeta

    def model_post_init(self, context: object, /) -> None:
        # assignment marks the fields as set, so exclude_unset dumps keep them
        if not self.api_version:
            self.api_version = self.API_VERSION
        if not self.kind:
            self.kind = self.KIND

    @field_validator("api_version", "kind")
    @classmethod
    def _type_meta(cls, value: str, info: ValidationInfo) -> str:
        expected = cls.API_VERSION if info.field_name == "api_version" else cls.KIND
        if value and value != expected:
            raise PydanticCustomError(
                "unsupported_value",
                "Unsupported value {value}: expected {expected}",
                {"value": repr(value), "expected": repr(expected)},
            )
        return value

    @field_validator("metadata")
    @classmethod
    def _named(cls, value: ObjectMeta) -> ObjectMeta:
        if not value.name and not value.generate_name:
            raise PydanticCustomError("name_required", "name or generateName is required")
        return value
