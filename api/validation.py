"""Offline validation of manifest objects against the ome.io kinds, with problems reported
as the API server reports them: a field path and what is wrong there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pydantic

from ome.api.meta import ApiObject

Status = Literal["valid", "invalid", "skipped"]
# pydantic's words where the API server's are clearer for a manifest
_MESSAGES = {"extra_forbidden": "unknown field", "missing": "Required value"}


@dataclass(frozen=True)
class Outcome:
    """The verdict on one object; ``model`` is set when it is valid."""

    kind: str
    name: str
    status: Status
    problems: tuple[str, ...] = ()
    model: ApiObject | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.kind or '?'}/{self.name or '?'}"


def field_path(location: Sequence[int | str]) -> str:
    """``("spec", "containers", 0, "name")`` → ``spec.containers[0].name``."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def problems(error: pydantic.ValidationError) -> tuple[str, ...]:
    """One ``path: message`` per error, in the order pydantic found them."""
    found = []
    for detail in error.errors(include_url=False):
        message = _MESSAGES.get(detail["type"], detail["msg"]).removeprefix("Value error, ")
        value = detail.get("input")
        scalar = isinstance(value, str | int | float | bool)
        if detail["type"] not in _MESSAGES and scalar and repr(value) not in message:
            message += f" (got {value!r})"
        found.append(f"{field_path(detail['loc']) or '(object)'}: {message}")
    return tuple(found)


def validate_object(content: Any, kinds: Mapping[str, type[ApiObject]]) -> Outcome:
    """Validate one manifest object against ``kinds`` (one API group and version).

    Objects of other groups are skipped; in the group, an unknown version or kind is a
    problem, since the API server would refuse it too."""
    if not isinstance(content, dict):
        return Outcome("", "", "invalid", ("(document): not an object",))
    kind = content.get("kind")
    metadata = content.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    kind_text, name_text = str(kind or ""), str(name or "")
    api_version = content.get("apiVersion")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        missing = "apiVersion" if not isinstance(api_version, str) else "kind"
        return Outcome(kind_text, name_text, "invalid", (f"{missing}: Required value",))
    served = next(iter(kinds.values())).API_VERSION
    if api_version.split("/")[0] != served.split("/")[0]:
        return Outcome(kind, name_text, "skipped")
    if api_version != served:
        problem = f"apiVersion: Unsupported value {api_version!r}: expected {served!r}"
        return Outcome(kind, name_text, "invalid", (problem,))
    if kind not in kinds:
        problem = f"kind: Unsupported value {kind!r}: expected one of {', '.join(kinds)}"
        return Outcome(kind, name_text, "invalid", (problem,))
    try:
        model = kinds[kind].model_validate(content)
    except pydantic.ValidationError as error:
        return Outcome(kind, name_text, "invalid", problems(error))
    return Outcome(kind, name_text, "valid", model=model)
