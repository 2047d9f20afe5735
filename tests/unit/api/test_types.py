"""The value types and markers validate what the API server validates for a CRD."""

from __future__ import annotations

from typing import Annotated

import pydantic
import pytest

from ome.api.types import (
    ATOMIC,
    SET,
    IntOrString,
    KubeModel,
    Quantity,
    Time,
    list_map,
)


class Port(KubeModel):
    number: int
    protocol: str | None = "TCP"


class Sample(KubeModel):
    count: int | None = None
    text: str | None = None
    port: IntOrString | None = None
    size: Quantity | None = None
    at: Time | None = None
    tags: Annotated[list[str], SET] | None = None
    args: Annotated[list[str], ATOMIC] | None = None
    ports: Annotated[list[Port], list_map("number", "protocol")] | None = None


def errors(data: dict[str, object]) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(pydantic.ValidationError) as caught:
        Sample.model_validate(data)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_no_coercion_and_no_unknown_fields() -> None:
    assert errors({"count": "1"}) == [(("count",), "int_type")]
    assert errors({"count": True}) == [(("count",), "int_type")]
    assert errors({"text": 1}) == [(("text",), "string_type")]
    assert errors({"colour": "red"}) == [(("colour",), "extra_forbidden")]


@pytest.mark.parametrize("value", [8080, "http", "50%"])
def test_int_or_string_takes_either(value: int | str) -> None:
    assert Sample.model_validate({"port": value}).port == value


@pytest.mark.parametrize("value", [1.5, True, None, [1]])
def test_int_or_string_refuses_the_rest(value: object) -> None:
    if value is None:  # null is "not set", as the server prunes it
        assert Sample.model_validate({"port": value}).port is None
        return
    assert errors({"port": value}) == [(("port",), "int_or_string")]


@pytest.mark.parametrize("value", [8, "500m", "80Gi", "1e3", "+.5", "-2k"])
def test_quantities(value: int | str) -> None:
    assert Sample.model_validate({"size": value}).size == value


@pytest.mark.parametrize("value", ["lots", "80 Gi", "1.2.3", ""])
def test_bad_quantities(value: str) -> None:
    assert errors({"size": value}) == [(("size",), "pattern")]


def test_times_are_rfc3339_strings() -> None:
    for good in ("2025-05-01T10:00:00Z", "2025-05-01T10:00:00.123+02:00"):
        assert Sample.model_validate({"at": good}).at == good
    assert errors({"at": "yesterday"}) == [(("at",), "date_time")]


def test_sets_and_map_lists_refuse_duplicates() -> None:
    assert errors({"tags": ["a", "a"]}) == [(("tags",), "duplicate")]
    assert Sample.model_validate({"args": ["a", "a"]}).args == ["a", "a"]  # atomic: any list
    same_port = [{"number": 80}, {"number": 80, "protocol": "TCP"}]  # TCP is the default
    assert errors({"ports": same_port}) == [(("ports",), "duplicate")]
    other_protocol = [{"number": 80}, {"number": 80, "protocol": "UDP"}]
    assert len(Sample.model_validate({"ports": other_protocol}).ports or []) == 2


def test_json_names_and_python_names() -> None:
    class Named(KubeModel):
        storage_uri: str = pydantic.Field(alias="storageUri")

    by_alias = Named.model_validate({"storageUri": "hf://a"})
    assert by_alias == Named(storage_uri="hf://a")
    assert by_alias.model_dump() == {"storageUri": "hf://a"}
